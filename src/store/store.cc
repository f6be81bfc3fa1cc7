#include "store/store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <utility>

#include "store/collections.h"
#include "store/documents.h"
#include "base/file_lock.h"
#include "base/files.h"
#include "store/ids.h"
#include "store/ingest.h"
#include "store/lexical_index.h"
#include "store/retrievers.h"
#include "store/schema.h"
#include "store/sqlite.h"

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

constexpr const char* kDatabaseFile = "winnow.db";
constexpr const char* kIndexDirectory = "indexes";
constexpr const char* kLockFile = "LOCK";

struct IndexEntry {
  std::shared_ptr<VectorIndex> index;
  std::string origin;
};

using IndexKey = std::pair<std::int64_t, std::string>;  // (collection_key, index name)

// A write that failed for a reason of the store's (a full disk, an I/O
// error, a busy database) and was rolled back, with what was not written in
// front: "collection 'x' was not created: DIR/winnow.db: no space left on
// device". Errors about the request itself (bad id, not found, exists) pass
// unchanged.
Status not_written(const Status& status, const std::string& what) {
  switch (status.code()) {
    case base::StatusCode::kOutOfSpace:
    case base::StatusCode::kInternal:
    case base::StatusCode::kDataLoss:
    case base::StatusCode::kUnavailable: return status.with_context(what);
    default: return status;
  }
}

// Where an ingest stopped and what of it is stored, for its error message.
std::string ingest_stopped(const std::string& where, std::size_t line, std::size_t committed_lines,
                           std::size_t stored) {
  std::string out = where + ": ingest stopped at line " + std::to_string(line) + " (";
  if (committed_lines == 0) return out + "nothing of this request was stored)";
  return out + std::to_string(stored) + (stored == 1 ? " document" : " documents") + " of lines 1 to " +
         std::to_string(committed_lines) + (stored == 1 ? " is" : " are") + " stored; nothing from line " +
         std::to_string(line) + " on)";
}

bool better(const ScoredDocument& a, const ScoredDocument& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.document_id < b.document_id;
}

}  // namespace

class Store::Impl {
 public:
  Impl(std::filesystem::path dir, StoreOptions options, base::FileLock lock)
      : dir_(std::move(dir)), index_dir_(dir_ / kIndexDirectory), options_(options), lock_(std::move(lock)) {}

  Result<std::unique_ptr<Database>> open_connection(bool writer) {
    WINNOW_ASSIGN_OR_RETURN(auto db, Database::open(dir_ / kDatabaseFile, writer, options_.busy_timeout_ms));
    WINNOW_RETURN_IF_ERROR(register_lexical_extensions(*db));
    if (!writer) WINNOW_RETURN_IF_ERROR(db->exec("PRAGMA query_only = 1"));
    return db;
  }

  // A reader connection from the pool, returned to it on destruction.
  class Reader {
   public:
    Reader(Impl* impl, std::unique_ptr<Database> db) : impl_(impl), db_(std::move(db)) {}
    Reader(Reader&& other) noexcept = default;
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Reader& operator=(Reader&&) = delete;
    ~Reader() {
      if (db_) impl_->release(std::move(db_));
    }
    Database& db() { return *db_; }

   private:
    Impl* impl_;
    std::unique_ptr<Database> db_;
  };

  Result<Reader> reader() {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      if (!idle_readers_.empty()) {
        auto db = std::move(idle_readers_.back());
        idle_readers_.pop_back();
        return Reader(this, std::move(db));
      }
    }
    WINNOW_ASSIGN_OR_RETURN(auto db, open_connection(false));
    return Reader(this, std::move(db));
  }

  void release(std::unique_ptr<Database> db) {
    // A connection left inside a transaction would keep serving an old
    // snapshot; end it, or drop the connection if that fails.
    if (!sqlite3_get_autocommit(db->handle()) && !db->exec("ROLLBACK").ok()) return;
    std::lock_guard<std::mutex> lock(pool_mutex_);
    idle_readers_.push_back(std::move(db));
  }

  std::shared_ptr<VectorIndex> find_index(std::int64_t collection_key, const std::string& name) const {
    std::shared_lock<std::shared_mutex> lock(indexes_mutex_);
    auto it = indexes_.find({collection_key, name});
    return it == indexes_.end() ? nullptr : it->second.index;
  }

  VectorIndexIdentity identity(const CollectionRow& row, const VectorIndexSpec& spec) const {
    return {store_id_, row.key, spec.name, spec.metric, spec.dimensions.value_or(0)};
  }

  // Loads an index from its file and catches it up, or rebuilds it from the
  // vectors table. `db` is the writer, with no writer activity in between.
  Result<IndexEntry> load_index(Database& db, const CollectionRow& row, const VectorIndexSpec& spec) {
    VectorIndexIdentity id = identity(row, spec);
    WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(db));
    WINNOW_ASSIGN_OR_RETURN(std::int64_t seq, current_change_seq(db));
    WINNOW_ASSIGN_OR_RETURN(auto count_stmt,
                            db.cached("SELECT count(*) FROM documents AS d JOIN vectors AS v ON v.doc_key = d.doc_key "
                                      "AND v.index_name = ?2 WHERE d.collection_key = ?1"));
    count_stmt->bind(1, row.key).bind(2, spec.name);
    WINNOW_ASSIGN_OR_RETURN(bool has_count, count_stmt->step());
    std::size_t count = has_count ? static_cast<std::size_t>(count_stmt->column_int64(0)) : 0;
    std::filesystem::path file = vector_index_file(index_dir_, row.key, spec.name);

    std::string reason;
    if (count >= options_.vector.exact_threshold) {
      auto loaded = VectorIndex::load(file, id, options_.vector);
      if (loaded.ok()) {
        std::unique_ptr<VectorIndex> index = std::move(loaded).value();
        std::int64_t from = index->applied_seq();
        if (from > seq) {
          reason = "its file reflects change " + std::to_string(from) + ", newer than the database's " +
                   std::to_string(seq);
        } else if (from < row.log_floor) {
          reason = "its file reflects change " + std::to_string(from) + " but the change log starts after " +
                   std::to_string(row.log_floor);
        } else {
          auto caught_up = catch_up(db, row, spec, *index, from);
          if (caught_up.ok()) {
            WINNOW_RETURN_IF_ERROR(index->maintain());
            index->set_applied_seq(seq);
            std::string origin = *caught_up == 0 ? std::string("loaded")
                                                 : "caught up " + std::to_string(*caught_up) + " changes";
            return IndexEntry{std::move(index), origin};
          }
          reason = caught_up.status().message();
        }
      } else if (loaded.status().code() == base::StatusCode::kNotFound) {
        reason = "no index file";
      } else {
        reason = loaded.status().message();
      }
    }

    // Rebuild from the truth.
    std::vector<std::int64_t> labels;
    std::vector<float> data;
    labels.reserve(count);
    data.reserve(count * static_cast<std::size_t>(id.dimensions));
    WINNOW_ASSIGN_OR_RETURN(auto scan, db.cached("SELECT d.doc_key, v.vector FROM documents AS d JOIN vectors AS v "
                                                 "ON v.doc_key = d.doc_key AND v.index_name = ?2 "
                                                 "WHERE d.collection_key = ?1"));
    scan->bind(1, row.key).bind(2, spec.name);
    std::size_t expected_bytes = static_cast<std::size_t>(id.dimensions) * sizeof(float);
    while (true) {
      WINNOW_ASSIGN_OR_RETURN(bool more, scan->step());
      if (!more) break;
      auto blob = scan->column_blob(1);
      if (blob.size() != expected_bytes) continue;  // unreadable vector: left out, as if absent
      labels.push_back(scan->column_int64(0));
      std::vector<float> vector = blob_to_vector(blob);
      data.insert(data.end(), vector.begin(), vector.end());
    }
    WINNOW_ASSIGN_OR_RETURN(auto index, VectorIndex::build(id, options_.vector, std::move(labels), std::move(data)));
    index->set_applied_seq(seq);
    std::string origin = index->is_hnsw() ? "rebuilt: " + reason : std::string("exact from the database");
    return IndexEntry{std::move(index), origin};
  }

  // Applies the changes after `from` to `index`; returns how many documents.
  Result<std::size_t> catch_up(Database& db, const CollectionRow& row, const VectorIndexSpec& spec,
                               VectorIndex& index, std::int64_t from) {
    WINNOW_ASSIGN_OR_RETURN(
        auto changed, db.cached("SELECT DISTINCT doc_key FROM changes WHERE collection_key = ?1 AND seq > ?2"));
    changed->bind(1, row.key).bind(2, from);
    std::vector<std::int64_t> keys;
    while (true) {
      WINNOW_ASSIGN_OR_RETURN(bool more, changed->step());
      if (!more) break;
      keys.push_back(changed->column_int64(0));
    }
    WINNOW_ASSIGN_OR_RETURN(auto lookup, db.cached("SELECT vector FROM vectors WHERE doc_key = ?1 AND index_name = ?2"));
    for (std::int64_t key : keys) {
      lookup->reset().bind(1, key).bind(2, spec.name);
      WINNOW_ASSIGN_OR_RETURN(bool present, lookup->step());
      if (present) {
        std::vector<float> vector = blob_to_vector(lookup->column_blob(0));
        if (static_cast<std::int64_t>(vector.size()) == index.identity().dimensions) {
          WINNOW_RETURN_IF_ERROR(index.upsert(key, vector));
          continue;
        }
      }
      WINNOW_RETURN_IF_ERROR(index.remove(key));
    }
    return keys.size();
  }

  // The in-memory indexes of a collection whose dimensions are known,
  // creating empty ones for indexes that just got their dimensions.
  std::vector<std::shared_ptr<VectorIndex>> indexes_of(const CollectionRow& row) {
    std::vector<std::shared_ptr<VectorIndex>> out;
    std::unique_lock<std::shared_mutex> lock(indexes_mutex_);
    for (const auto& spec : row.settings.vector_indexes) {
      if (!spec.dimensions) continue;
      auto& entry = indexes_[{row.key, spec.name}];
      if (!entry.index || entry.index->identity().dimensions != *spec.dimensions) {
        entry.index = std::make_shared<VectorIndex>(identity(row, spec), options_.vector);
        entry.origin = "new";
      }
      out.push_back(entry.index);
    }
    return out;
  }

  // After a failed in-memory update: rebuild the index from the database.
  void repair(const CollectionRow& row, const std::string& name) {
    const VectorIndexSpec* spec = row.settings.find_index(name);
    if (spec == nullptr || !spec->dimensions) return;
    auto entry = load_index(*writer_, row, *spec);
    std::unique_lock<std::shared_mutex> lock(indexes_mutex_);
    if (entry.ok()) {
      indexes_[{row.key, name}] = std::move(entry).value();
    } else {
      indexes_.erase({row.key, name});
    }
  }

  // Writes validated documents (upserts) in one transaction and brings the
  // vector indexes up to date. Caller holds write_mutex_.
  Status write_documents(CollectionRow& row, std::vector<PendingDocument>& documents, std::vector<LineError>& errors,
                         std::size_t& stored) {
    bool settings_changed = false;
    WINNOW_RETURN_IF_ERROR(resolve_vectors(row.settings, documents, {}, errors, settings_changed));
    if (documents.empty() && !settings_changed) return {};
    WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(*writer_));
    if (settings_changed) WINNOW_RETURN_IF_ERROR(update_collection_settings(*writer_, row));
    std::int64_t now = now_ms();
    std::vector<std::int64_t> doc_keys;
    doc_keys.reserve(documents.size());
    for (const auto& pending : documents) {
      auto key = write_document(*writer_, row, pending.id, pending.document, pending.vectors, now);
      if (!key.ok()) return key.status().with_context("document '" + pending.id + "'");
      doc_keys.push_back(*key);
    }
    WINNOW_ASSIGN_OR_RETURN(std::int64_t seq, current_change_seq(*writer_));
    auto indexes = indexes_of(row);
    std::vector<std::unique_lock<std::shared_mutex>> locks;
    for (auto& index : indexes) locks.push_back(index->write_lock());
    WINNOW_RETURN_IF_ERROR(txn.commit());
    stored += documents.size();
    changes_since_checkpoint_ += documents.size();
    for (auto& index : indexes) {
      const std::string& name = index->identity().index_name;
      Status status;
      for (std::size_t i = 0; i < documents.size() && status.ok(); ++i) {
        const VectorWrite* write = nullptr;
        for (const auto& w : documents[i].vectors) {
          if (w.index_name == name) write = &w;
        }
        status = write ? index->upsert(doc_keys[i], write->vector) : index->remove(doc_keys[i]);
      }
      if (status.ok()) status = index->maintain();
      index->set_applied_seq(seq);
      if (!status.ok()) {
        locks.clear();
        repair(row, name);
        return status.with_context("collection '" + row.id + "': updating vector index '" + name +
                                   "' (documents are committed; the index was rebuilt)");
      }
    }
    return {};
  }

  // Removes what a crash can leave in the index directory: the files of
  // collections deleted just before it (they are removed after the commit),
  // and half-written temporary files of saves it cut. Only names of the
  // store's own pattern ("c<key>.<index>.hnsw...") are touched.
  void remove_stray_index_files(const std::vector<CollectionRow>& rows) {
    std::set<std::string> live;
    for (const auto& row : rows) {
      for (const auto& spec : row.settings.vector_indexes) {
        std::string name = vector_index_file(index_dir_, row.key, spec.name).filename().string();
        live.insert(name);
        live.insert(name + ".meta");
      }
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(index_dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() < 2 || name[0] != 'c' || name.find(".hnsw") == std::string::npos) continue;
      if (live.count(name)) continue;
      std::error_code ignored;
      std::filesystem::remove(entry.path(), ignored);
    }
  }

  Status checkpoint_locked() {
    WINNOW_ASSIGN_OR_RETURN(std::vector<CollectionRow> rows, all_collections(*writer_));
    WINNOW_ASSIGN_OR_RETURN(std::int64_t seq, current_change_seq(*writer_));
    std::map<std::int64_t, std::int64_t> floors;  // collection_key -> lowest seq a saved HNSW file reflects
    Status first_error;
    {
      std::shared_lock<std::shared_mutex> lock(indexes_mutex_);
      for (const auto& [key, entry] : indexes_) {
        auto read = entry.index->read_lock();
        Status status = entry.index->save(vector_index_file(index_dir_, key.first, key.second));
        if (!status.ok()) {
          if (first_error.ok()) first_error = status;
          floors[key.first] = 0;  // its old file may be stale: keep the whole log
          continue;
        }
        if (entry.index->is_hnsw()) {
          std::int64_t applied = entry.index->applied_seq();
          floors[key.first] = floors.count(key.first) ? std::min(floors[key.first], applied) : applied;
        }
      }
    }
    WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(*writer_));
    for (const auto& row : rows) {
      if (row.settings.vector_indexes.empty()) continue;
      std::int64_t floor = floors.count(row.key) ? floors[row.key] : seq;
      if (floor > row.log_floor) WINNOW_RETURN_IF_ERROR(prune_change_log(*writer_, row.key, floor));
    }
    WINNOW_RETURN_IF_ERROR(txn.commit());
    changes_since_checkpoint_ = 0;
    return first_error;
  }

  std::filesystem::path dir_;
  std::filesystem::path index_dir_;
  StoreOptions options_;
  base::FileLock lock_;
  std::string store_id_;

  std::mutex write_mutex_;  // one writer at a time; guards writer_ and changes_since_checkpoint_
  std::unique_ptr<Database> writer_;
  std::size_t changes_since_checkpoint_ = 0;

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Database>> idle_readers_;

  mutable std::shared_mutex indexes_mutex_;  // guards the map; each index has its own lock
  std::map<IndexKey, IndexEntry> indexes_;
};

// ---- open / close ---------------------------------------------------------

Store::Store(std::filesystem::path dir) : dir_(std::move(dir)) {}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir, StoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir / kIndexDirectory, ec);
  if (ec) return base::file_error(dir / kIndexDirectory, "cannot create the data directory", ec.value());
  WINNOW_ASSIGN_OR_RETURN(std::optional<base::FileLock> lock, base::FileLock::try_acquire(dir / kLockFile));
  if (!lock) return base::failed_precondition(dir.string() + ": data directory is in use by another process");
  std::unique_ptr<Store> store(new Store(dir));
  store->impl_ = std::make_unique<Impl>(dir, options, std::move(*lock));
  Impl& impl = *store->impl_;
  WINNOW_ASSIGN_OR_RETURN(impl.writer_, impl.open_connection(true));
  WINNOW_RETURN_IF_ERROR(migrate(*impl.writer_));
  WINNOW_ASSIGN_OR_RETURN(impl.store_id_, store_instance_id(*impl.writer_));
  WINNOW_ASSIGN_OR_RETURN(std::vector<CollectionRow> rows, all_collections(*impl.writer_));
  for (const auto& row : rows) {
    for (const auto& spec : row.settings.vector_indexes) {
      if (!spec.dimensions) continue;
      auto entry = impl.load_index(*impl.writer_, row, spec);
      if (!entry.ok()) {
        return entry.status().with_context("collection '" + row.id + "': loading vector index '" + spec.name + "'");
      }
      impl.indexes_[{row.key, spec.name}] = std::move(entry).value();
    }
  }
  impl.remove_stray_index_files(rows);
  return store;
}

Store::~Store() {
  if (!impl_ || !impl_->writer_) return;
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  impl_->checkpoint_locked().ignore_error();
}

Status Store::checkpoint() {
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  return impl_->checkpoint_locked();
}

// ---- collections ----------------------------------------------------------

Result<Collection> Store::create_collection(std::string_view collection_id, const nlohmann::json& settings) {
  WINNOW_RETURN_IF_ERROR(validate_id(collection_id, "collection_id"));
  auto parsed = parse_collection_settings(settings);
  if (!parsed.ok()) return parsed.status().with_context("collection '" + std::string(collection_id) + "'");
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  Database& db = *impl_->writer_;
  auto inserted = [&]() -> Result<CollectionRow> {
    WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(db));
    WINNOW_ASSIGN_OR_RETURN(CollectionRow row, insert_collection(db, collection_id, *parsed, now_ms()));
    WINNOW_RETURN_IF_ERROR(txn.commit());
    return row;
  }();
  if (!inserted.ok()) {
    return not_written(inserted.status(), "collection '" + std::string(collection_id) + "' was not created");
  }
  const CollectionRow& row = *inserted;
  Collection out;
  out.collection_id = row.id;
  out.created_at_ms = row.created_at_ms;
  out.settings = row.settings;
  return out;
}

Result<Collection> Store::get_collection(std::string_view collection_id) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(reader.db()));
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
  return collection_from_row(reader.db(), row);
}

Result<std::vector<Collection>> Store::list_collections() {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(reader.db()));
  WINNOW_ASSIGN_OR_RETURN(std::vector<CollectionRow> rows, all_collections(reader.db()));
  std::vector<Collection> out;
  for (const auto& row : rows) {
    WINNOW_ASSIGN_OR_RETURN(Collection collection, collection_from_row(reader.db(), row));
    out.push_back(std::move(collection));
  }
  return out;
}

Status Store::delete_collection(std::string_view collection_id) {
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  Database& db = *impl_->writer_;
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(db, collection_id));
  Status removed = [&]() -> Status {
    WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(db));
    WINNOW_RETURN_IF_ERROR(remove_collection(db, row));
    return txn.commit();
  }();
  if (!removed.ok()) return not_written(removed, "collection '" + row.id + "' was not deleted");
  // A crash before the files go leaves them behind; open() removes them.
  std::unique_lock<std::shared_mutex> indexes_lock(impl_->indexes_mutex_);
  for (const auto& spec : row.settings.vector_indexes) {
    impl_->indexes_.erase({row.key, spec.name});
    std::filesystem::path file = vector_index_file(impl_->index_dir_, row.key, spec.name);
    std::filesystem::path meta = file;
    meta += ".meta";
    std::error_code ec;
    std::filesystem::remove(meta, ec);
    std::filesystem::remove(file, ec);
  }
  return {};
}

// ---- documents ------------------------------------------------------------

Result<IngestReport> Store::ingest(std::string_view collection_id, std::istream& ndjson, const IngestOptions& options) {
  std::string where = "collection '" + std::string(collection_id) + "'";
  CollectionSettings settings;
  {
    WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
    WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
    settings = row.settings;
  }
  IngestReport report;
  NdjsonBatcher batcher(ndjson, options.batch_lines, options.batch_bytes);
  while (true) {
    std::size_t committed_lines = batcher.lines_read();
    auto lines = batcher.next();
    if (!lines.ok()) return lines.status().with_context(where + ": reading documents");
    if (lines->empty()) break;

    std::vector<LineError> errors;
    std::vector<PendingDocument> documents;
    documents.reserve(lines->size());
    for (auto& line : *lines) {
      // A line is the client's data: whatever it holds becomes its own error,
      // never an exception that ends the ingest (or the process).
      Result<ParsedDocument> parsed = base::internal_error("not parsed");
      try {
        parsed = parse_document(line.text);
      } catch (const std::exception& e) {
        parsed = base::internal_error(std::string("unexpected error reading the document: ") + e.what());
      }
      if (!parsed.ok()) {
        errors.push_back({line.number, parsed.status().message()});
        continue;
      }
      PendingDocument pending;
      pending.line = line.number;
      pending.id = parsed->id ? *parsed->id : generate_id();
      pending.document = std::move(parsed).value();
      documents.push_back(std::move(pending));
    }
    // Embedding runs outside the writer lock, on the settings as they were;
    // write_documents checks the vectors again against the current ones.
    bool ignored = false;
    CollectionSettings snapshot = settings;
    Status embedded = resolve_vectors(snapshot, documents, options.embed, errors, ignored);
    if (!embedded.ok()) {
      return embedded.with_context(
          ingest_stopped(where, lines->front().number, committed_lines, report.documents_stored));
    }
    {
      std::lock_guard<std::mutex> lock(impl_->write_mutex_);
      auto row = find_collection(*impl_->writer_, collection_id);
      if (!row.ok()) return row.status();
      Status written = impl_->write_documents(*row, documents, errors, report.documents_stored);
      if (!written.ok()) {
        return written.with_context(
            ingest_stopped(where, lines->front().number, committed_lines, report.documents_stored));
      }
      settings = row->settings;
    }
    std::stable_sort(errors.begin(), errors.end(),
                     [](const LineError& a, const LineError& b) { return a.line < b.line; });
    report.bad_lines += errors.size();
    for (auto& error : errors) {
      if (report.errors.size() >= options.max_reported_errors) break;
      report.errors.push_back(std::move(error));
    }
    if (options.on_batch_committed) options.on_batch_committed(batcher.lines_read());
  }
  report.lines = batcher.lines_read();
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  if (impl_->changes_since_checkpoint_ >= impl_->options_.checkpoint_every_changes) {
    impl_->checkpoint_locked().ignore_error();  // an unsaved index is caught up at the next open
  }
  return report;
}

Result<std::string> Store::put_document(std::string_view collection_id, std::string_view document_json,
                                        const EmbedFunction& embed) {
  std::string where = "collection '" + std::string(collection_id) + "'";
  auto parsed = parse_document(document_json);
  if (!parsed.ok()) return parsed.status().with_context(where);
  std::vector<PendingDocument> documents(1);
  documents[0].id = parsed->id ? *parsed->id : generate_id();
  documents[0].document = std::move(parsed).value();
  std::string id = documents[0].id;
  std::vector<LineError> errors;
  CollectionSettings settings;
  {
    WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
    WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
    settings = row.settings;
  }
  bool ignored = false;
  WINNOW_RETURN_IF_ERROR(resolve_vectors(settings, documents, embed, errors, ignored));
  std::size_t stored = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->write_mutex_);
    WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(*impl_->writer_, collection_id));
    Status written = impl_->write_documents(row, documents, errors, stored);
    if (!written.ok()) return not_written(written, where + ": document '" + id + "' was not stored");
  }
  if (!errors.empty()) return base::invalid_argument(where + ": " + errors.front().error);
  return id;
}

Result<StoredDocument> Store::get_document(std::string_view collection_id, std::string_view document_id) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(reader.db()));
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
  WINNOW_ASSIGN_OR_RETURN(std::optional<StoredDocument> document, read_document(reader.db(), row, document_id));
  if (!document) {
    return base::not_found("document '" + std::string(document_id) + "' not found in collection '" + row.id + "'");
  }
  return std::move(*document);
}

Result<DocumentPage> Store::list_documents(std::string_view collection_id, std::string_view after, std::size_t limit) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(reader.db()));
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
  return read_document_page(reader.db(), row, after, limit);
}

Status Store::delete_document(std::string_view collection_id, std::string_view document_id) {
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  Database& db = *impl_->writer_;
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(db, collection_id));
  const std::string what = "document '" + std::string(document_id) + "' was not deleted from collection '" + row.id + "'";
  auto txn = Transaction::begin(db);
  if (!txn.ok()) return not_written(txn.status(), what);
  auto erased = erase_document(db, row, document_id);
  if (!erased.ok()) return not_written(erased.status(), what);
  const std::int64_t doc_key = *erased;
  WINNOW_ASSIGN_OR_RETURN(std::int64_t seq, current_change_seq(db));
  auto indexes = impl_->indexes_of(row);
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  for (auto& index : indexes) locks.push_back(index->write_lock());
  if (Status committed = txn->commit(); !committed.ok()) return not_written(committed, what);
  ++impl_->changes_since_checkpoint_;
  for (auto& index : indexes) {
    Status status = index->remove(doc_key);
    index->set_applied_seq(seq);
    if (!status.ok()) {
      std::string name = index->identity().index_name;
      locks.clear();
      impl_->repair(row, name);
      return status.with_context("collection '" + row.id + "': vector index '" + name + "'");
    }
  }
  return {};
}

Result<std::vector<StoredDocument>> Store::fetch_documents(std::string_view collection_id,
                                                           std::span<const std::string> ids) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(reader.db()));
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
  std::vector<StoredDocument> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    WINNOW_ASSIGN_OR_RETURN(std::optional<StoredDocument> document, read_document(reader.db(), row, id));
    if (document) out.push_back(std::move(*document));
  }
  return out;
}

// ---- search ---------------------------------------------------------------

Result<std::vector<ScoredDocument>> Store::text_search(std::string_view collection_id, std::string_view query,
                                                       std::size_t top_k) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(reader.db()));
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
  auto hits = lexical_search(reader.db(), row.key, row.settings.bm25, query, top_k);
  if (!hits.ok()) return hits.status().with_context("collection '" + row.id + "': text search");
  std::vector<ScoredDocument> out;
  out.reserve(hits->size());
  for (auto& hit : *hits) out.push_back({std::move(hit.document_id), hit.score});
  return out;
}

Result<std::vector<ScoredDocument>> Store::vector_search(std::string_view collection_id, std::string_view index_name,
                                                         std::span<const float> query_vector, std::size_t top_k) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  Database& db = reader.db();
  WINNOW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(db));
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(db, collection_id));
  std::string where = "collection '" + row.id + "': vector index '" + std::string(index_name) + "'";
  const VectorIndexSpec* spec = row.settings.find_index(index_name);
  if (spec == nullptr) return base::not_found("collection '" + row.id + "' has no vector index '" + std::string(index_name) + "'");
  std::vector<ScoredDocument> out;
  if (!spec->dimensions) return out;  // no vector stored yet
  if (static_cast<std::int64_t>(query_vector.size()) != *spec->dimensions) {
    return base::invalid_argument(where + ": query vector has " + std::to_string(query_vector.size()) +
                                  " dimensions, expected " + std::to_string(*spec->dimensions));
  }
  if (spec->metric == Metric::kCosine &&
      std::all_of(query_vector.begin(), query_vector.end(), [](float v) { return v == 0.0f; })) {
    return base::invalid_argument(where + ": query vector has zero length, which cosine cannot compare");
  }
  auto index = impl_->find_index(row.key, spec->name);
  if (!index) return out;
  auto hits = index->search(query_vector, top_k);
  if (!hits.ok()) return hits.status().with_context(where);
  WINNOW_ASSIGN_OR_RETURN(auto lookup,
                          db.cached("SELECT document_id FROM documents WHERE doc_key = ?1 AND collection_key = ?2"));
  out.reserve(hits->size());
  for (const auto& hit : *hits) {
    lookup->reset().bind(1, hit.label).bind(2, row.key);
    WINNOW_ASSIGN_OR_RETURN(bool found, lookup->step());
    if (found) out.push_back({lookup->column_text(0), hit.score});
  }
  std::sort(out.begin(), out.end(), better);
  return out;
}

Result<VectorIndexSpec> Store::index_spec(std::string_view collection_id, std::string_view index_name) {
  WINNOW_ASSIGN_OR_RETURN(Collection collection, get_collection(collection_id));
  const VectorIndexSpec* spec = collection.settings.find_index(index_name);
  if (spec == nullptr) {
    return base::not_found("collection '" + collection.collection_id + "' has no vector index '" +
                           std::string(index_name) + "'");
  }
  return *spec;
}

Result<VectorIndexInfo> Store::vector_index_info(std::string_view collection_id, std::string_view index_name) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(reader.db(), collection_id));
  const VectorIndexSpec* spec = row.settings.find_index(index_name);
  if (spec == nullptr) {
    return base::not_found("collection '" + row.id + "' has no vector index '" + std::string(index_name) + "'");
  }
  VectorIndexInfo info;
  info.spec = *spec;
  std::shared_lock<std::shared_mutex> lock(impl_->indexes_mutex_);
  auto it = impl_->indexes_.find({row.key, spec->name});
  if (it == impl_->indexes_.end()) {
    info.origin = "empty";
    return info;
  }
  auto index_lock = it->second.index->read_lock();
  info.vectors = it->second.index->size();
  info.hnsw = it->second.index->is_hnsw();
  info.applied_seq = it->second.index->applied_seq();
  info.origin = it->second.origin;
  return info;
}

// ---- retrievers -----------------------------------------------------------

Result<Retriever> Store::create_retriever(Retriever retriever) {
  WINNOW_RETURN_IF_ERROR(validate_id(retriever.retriever_id, "retriever_id"));
  std::string where = "retriever '" + retriever.retriever_id + "'";
  if (retriever.collection_ids.empty()) return base::invalid_argument(where + ": collection_ids is empty");
  if (!retriever.stages.is_array()) {
    return base::invalid_argument(where + ": stages must be a JSON array, got " + retriever.stages.type_name());
  }
  if (!retriever.input_schema.is_null() && !retriever.input_schema.is_object()) {
    return base::invalid_argument(where + ": input_schema must be a JSON object, got " +
                                  retriever.input_schema.type_name());
  }
  retriever.created_at_ms = now_ms();
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  Database& db = *impl_->writer_;
  Status stored = [&]() -> Status {
    WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(db));
    for (const auto& id : retriever.collection_ids) {
      auto row = find_collection(db, id);
      if (!row.ok()) return row.status().with_context(where);
    }
    WINNOW_RETURN_IF_ERROR(insert_retriever(db, retriever));
    return txn.commit();
  }();
  if (!stored.ok()) return not_written(stored, where + " was not stored");
  return retriever;
}

Result<Retriever> Store::get_retriever(std::string_view retriever_id) {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  return read_retriever(reader.db(), retriever_id);
}

Result<std::vector<Retriever>> Store::list_retrievers() {
  WINNOW_ASSIGN_OR_RETURN(auto reader, impl_->reader());
  return read_retrievers(reader.db());
}

Status Store::delete_retriever(std::string_view retriever_id) {
  std::lock_guard<std::mutex> lock(impl_->write_mutex_);
  Database& db = *impl_->writer_;
  Status erased = [&]() -> Status {
    WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(db));
    WINNOW_RETURN_IF_ERROR(erase_retriever(db, retriever_id));
    return txn.commit();
  }();
  return not_written(erased, "retriever '" + std::string(retriever_id) + "' was not deleted");
}

}  // namespace winnow::store

// The store: one data directory holding collections, documents, their BM25
// (FTS5) and vector indexes, and retriever definitions.
//
// Layout of the directory:
//   winnow.db (+ -wal, -shm)   SQLite in WAL mode, synchronous=FULL: the truth
//   indexes/c<N>.<name>.hnsw   HNSW graphs (+ .meta), caches of the vectors table
//   LOCK                       flock()ed while a process has the store open
//
// Durability: a call that returned OK (and every ingest batch reported through
// on_batch_committed) survives kill -9 and power loss. Documents, their FTS
// rows and their vectors commit in one transaction. Vector indexes live in
// memory; HNSW ones are saved by checkpoint() and on close, and on open are
// loaded and caught up from the change log, or rebuilt from the vectors table
// when their file is missing, corrupt, or from another store or schema.
//
// Thread-safety: every method may be called from any thread. Writes (create /
// delete / ingest / put) are serialised on one writer connection; reads use a
// pool of reader connections (one per concurrent caller, opened on demand) and
// run concurrently with each other and with the writer. A vector search never
// sees an index older than the documents its read snapshot sees, so deleted
// and replaced documents never come back.
//
// Errors name the collection, document, line, field or index at fault:
// InvalidArgument (bad id, bad document), NotFound, AlreadyExists,
// FailedPrecondition (directory in use, newer schema), DataLoss, Internal,
// OutOfSpace (the disk is full: names the file, and a write says what it did
// not store; nothing of a failed write is stored, and writes work again once
// space is freed).
#pragma once

#include <filesystem>
#include <istream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "store/settings.h"
#include "store/types.h"
#include "store/vector_index.h"

namespace winnow::store {

struct StoreOptions {
  VectorIndexOptions vector;     // exact/HNSW threshold and HNSW parameters
  int busy_timeout_ms = 5000;
  // ingest() saves the HNSW indexes when this many changes accumulated since
  // the last save, bounding the catch-up work after a crash.
  std::size_t checkpoint_every_changes = 50000;
};

class Store {
 public:
  // Opens the store in `dir`, creating the directory and database if needed,
  // migrating the schema, and loading (catching up, repairing) every vector
  // index. FailedPrecondition if another process has it open.
  static base::Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir, StoreOptions options = {});

  // Saves the HNSW indexes (errors are dropped; the next open repairs).
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Saves every HNSW index with the change sequence it reflects and prunes
  // the change log behind them.
  base::Status checkpoint();

  // ---- collections ----
  // `settings`: see parse_collection_settings (text_fields, vector_indexes, bm25).
  base::Result<Collection> create_collection(std::string_view collection_id, const nlohmann::json& settings);
  base::Result<Collection> get_collection(std::string_view collection_id);
  base::Result<std::vector<Collection>> list_collections();  // by collection_id
  // Removes the collection and all its documents and indexes.
  base::Status delete_collection(std::string_view collection_id);

  // ---- documents ----
  // Streams NDJSON documents (see documents.h for the shape) into the
  // collection, upserting by id, committing every batch. Bad lines are
  // reported in the result with their line numbers; the good ones are stored.
  // An error return means ingest stopped (embedding or storage failed); the
  // batches already reported through on_batch_committed stay committed, and
  // the message says so: "ingest stopped at line 1001 (1000 documents of
  // lines 1 to 1000 are stored; nothing from line 1001 on): ...".
  base::Result<IngestReport> ingest(std::string_view collection_id, std::istream& ndjson,
                                    const IngestOptions& options = {});
  // Upserts one document given as JSON text; returns its id.
  base::Result<std::string> put_document(std::string_view collection_id, std::string_view document_json,
                                         const EmbedFunction& embed = {});
  base::Result<StoredDocument> get_document(std::string_view collection_id, std::string_view document_id);
  // Documents with id > `after`, by id, at most `limit`.
  base::Result<DocumentPage> list_documents(std::string_view collection_id, std::string_view after,
                                            std::size_t limit);
  base::Status delete_document(std::string_view collection_id, std::string_view document_id);
  // Text fields and metadata of the given documents, in the order of `ids`;
  // ids that do not exist (e.g. deleted since a search) are skipped.
  base::Result<std::vector<StoredDocument>> fetch_documents(std::string_view collection_id,
                                                            std::span<const std::string> ids);

  // ---- search ----
  // BM25 over the collection's text fields: the top_k documents, best first,
  // ties by document_id. A query without searchable words returns nothing.
  base::Result<std::vector<ScoredDocument>> text_search(std::string_view collection_id, std::string_view query,
                                                        std::size_t top_k);
  // Nearest neighbours in a vector index: the top_k documents, best first
  // (score: cosine similarity, inner product, or -L2 distance), ties by
  // document_id. Exact below the HNSW threshold, approximate above it.
  base::Result<std::vector<ScoredDocument>> vector_search(std::string_view collection_id,
                                                          std::string_view index_name,
                                                          std::span<const float> query_vector, std::size_t top_k);
  // The index's spec, with dimensions once known. NotFound names the index.
  base::Result<VectorIndexSpec> index_spec(std::string_view collection_id, std::string_view index_name);
  // State of the in-memory index (size, exact or HNSW, how it was loaded).
  base::Result<VectorIndexInfo> vector_index_info(std::string_view collection_id, std::string_view index_name);

  // ---- retrievers ----
  // Validates the id and that every collection exists; sets created_at_ms.
  base::Result<Retriever> create_retriever(Retriever retriever);
  base::Result<Retriever> get_retriever(std::string_view retriever_id);
  base::Result<std::vector<Retriever>> list_retrievers();  // by retriever_id
  base::Status delete_retriever(std::string_view retriever_id);

  const std::filesystem::path& directory() const { return dir_; }

 private:
  class Impl;
  explicit Store(std::filesystem::path dir);

  std::filesystem::path dir_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace winnow::store

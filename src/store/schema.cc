#include "store/schema.h"

#include "store/ids.h"

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

// Migration n takes the schema from version n-1 to n.
constexpr const char* kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE store_info(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE collections(
  collection_key INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL,
  settings TEXT NOT NULL,
  -- changes with seq <= log_floor have been pruned from the change log
  log_floor INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE documents(
  doc_key INTEGER PRIMARY KEY AUTOINCREMENT,  -- FTS rowid and vector index label
  collection_key INTEGER NOT NULL REFERENCES collections(collection_key) ON DELETE CASCADE,
  document_id TEXT NOT NULL,
  text_fields TEXT NOT NULL,  -- JSON object, fields in the document's order
  metadata TEXT NOT NULL,     -- JSON object
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  UNIQUE(collection_key, document_id)
);
CREATE TABLE vectors(
  doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE,
  index_name TEXT NOT NULL,
  vector BLOB NOT NULL,       -- float32, native byte order, dimensions * 4 bytes
  PRIMARY KEY(doc_key, index_name)
) WITHOUT ROWID;
CREATE TABLE changes(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_key INTEGER NOT NULL,
  doc_key INTEGER NOT NULL
);
CREATE TABLE retrievers(
  retriever_id TEXT PRIMARY KEY,
  collection_ids TEXT NOT NULL,  -- JSON array
  input_schema TEXT NOT NULL,    -- JSON
  stages TEXT NOT NULL,          -- JSON array, as the client sent it
  created_at_ms INTEGER NOT NULL
);
)sql",
};

static_assert(std::size(kMigrations) == kSchemaVersion);

Result<int> user_version(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.prepare("PRAGMA user_version"));
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  return row ? static_cast<int>(stmt->column_int64(0)) : 0;
}

}  // namespace

Status migrate(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(int version, user_version(db));
  if (version > kSchemaVersion) {
    return base::failed_precondition(db.path().string() + ": schema version " + std::to_string(version) +
                                     " was written by a newer Winnow (this one knows up to " +
                                     std::to_string(kSchemaVersion) + ")");
  }
  if (version == kSchemaVersion) return {};
  WINNOW_ASSIGN_OR_RETURN(auto txn, Transaction::begin(db));
  // Re-read inside the write transaction: another process may have migrated.
  WINNOW_ASSIGN_OR_RETURN(version, user_version(db));
  for (int v = version; v < kSchemaVersion; ++v) {
    WINNOW_RETURN_IF_ERROR(db.exec(kMigrations[v]).with_context("schema migration " + std::to_string(v + 1)));
  }
  if (version == 0) {
    WINNOW_ASSIGN_OR_RETURN(auto insert, db.prepare("INSERT INTO store_info(key, value) VALUES('store_id', ?1)"));
    WINNOW_RETURN_IF_ERROR(insert->bind(1, generate_id()).run());
  }
  WINNOW_RETURN_IF_ERROR(db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)));
  return txn.commit();
}

Result<std::string> store_instance_id(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("SELECT value FROM store_info WHERE key = 'store_id'"));
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  if (!row) return base::data_loss(db.path().string() + ": store_info has no store_id");
  return stmt->column_text(0);
}

Result<std::int64_t> current_change_seq(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"));
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  return row ? stmt->column_int64(0) : std::int64_t{0};
}

}  // namespace winnow::store

// The SQLite schema of a Winnow data directory and its migrations.
//
// Tables: collections, documents, vectors (one float32 blob per document per
// index), changes (the change log the vector indexes catch up from),
// retrievers, store_info. Each collection also owns an FTS5 table
// fts_<collection_key> (see lexical_index.h). The schema version is SQLite's
// user_version; migrations run in one transaction on open.
#pragma once

#include <string>

#include "base/status.h"
#include "store/sqlite.h"

namespace winnow::store {

inline constexpr int kSchemaVersion = 1;

// Brings the database to kSchemaVersion, creating it if empty. A database
// written by a newer Winnow is FailedPrecondition, never touched.
base::Status migrate(Database& db);

// A random id given to the data directory when it is created; vector index
// files record it so a file copied from another store is never loaded.
base::Result<std::string> store_instance_id(Database& db);

// The highest change sequence ever issued (0 for none); survives pruning.
base::Result<std::int64_t> current_change_seq(Database& db);

}  // namespace winnow::store

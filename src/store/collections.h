// Collection rows: create, read, list and delete, each inside the caller's
// transaction or read snapshot. A collection owns its documents, vectors,
// change-log entries and FTS table; deleting it removes them all.
#pragma once

#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/documents.h"
#include "store/sqlite.h"
#include "store/types.h"

namespace winnow::store {

// AlreadyExists if the id is taken. Creates the FTS table too.
base::Result<CollectionRow> insert_collection(Database& db, std::string_view collection_id,
                                              const CollectionSettings& settings, std::int64_t now_ms);

// Rewrites the stored settings (after the first vector fixed an index's dimensions).
base::Status update_collection_settings(Database& db, const CollectionRow& collection);

base::Result<std::int64_t> count_documents(Database& db, std::int64_t collection_key);

base::Result<Collection> collection_from_row(Database& db, const CollectionRow& row);

base::Result<std::vector<CollectionRow>> all_collections(Database& db);

// Deletes the row (documents and vectors cascade), the FTS table and the
// collection's change-log entries.
base::Status remove_collection(Database& db, const CollectionRow& collection);

// Drops change-log entries up to `floor` and records the floor.
base::Status prune_change_log(Database& db, std::int64_t collection_key, std::int64_t floor);

}  // namespace winnow::store

#include "store/collections.h"

#include "store/lexical_index.h"

namespace winnow::store {

using base::Result;
using base::Status;

Result<CollectionRow> insert_collection(Database& db, std::string_view collection_id,
                                        const CollectionSettings& settings, std::int64_t now_ms) {
  WINNOW_ASSIGN_OR_RETURN(auto exists, db.cached("SELECT 1 FROM collections WHERE collection_id = ?1"));
  exists->bind(1, collection_id);
  WINNOW_ASSIGN_OR_RETURN(bool taken, exists->step());
  if (taken) return base::already_exists("collection '" + std::string(collection_id) + "' already exists");
  WINNOW_ASSIGN_OR_RETURN(
      auto insert, db.cached("INSERT INTO collections(collection_id, created_at_ms, settings) VALUES(?1, ?2, ?3) "
                             "RETURNING collection_key"));
  insert->bind(1, collection_id).bind(2, now_ms).bind(3, settings.to_json().dump());
  WINNOW_ASSIGN_OR_RETURN(bool row, insert->step());
  if (!row) return base::internal_error("inserting collection '" + std::string(collection_id) + "' returned no key");
  CollectionRow out;
  out.key = insert->column_int64(0);
  WINNOW_ASSIGN_OR_RETURN(bool more, insert->step());
  (void)more;
  out.id = std::string(collection_id);
  out.created_at_ms = now_ms;
  out.settings = settings;
  WINNOW_RETURN_IF_ERROR(create_fts_table(db, out.key, settings.bm25));
  return out;
}

Status update_collection_settings(Database& db, const CollectionRow& collection) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("UPDATE collections SET settings = ?2 WHERE collection_key = ?1"));
  return stmt->bind(1, collection.key).bind(2, collection.settings.to_json().dump()).run();
}

Result<std::int64_t> count_documents(Database& db, std::int64_t collection_key) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("SELECT count(*) FROM documents WHERE collection_key = ?1"));
  stmt->bind(1, collection_key);
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  return row ? stmt->column_int64(0) : std::int64_t{0};
}

Result<Collection> collection_from_row(Database& db, const CollectionRow& row) {
  Collection out;
  out.collection_id = row.id;
  out.created_at_ms = row.created_at_ms;
  out.settings = row.settings;
  WINNOW_ASSIGN_OR_RETURN(out.document_count, count_documents(db, row.key));
  return out;
}

Result<std::vector<CollectionRow>> all_collections(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("SELECT collection_id FROM collections ORDER BY collection_id"));
  std::vector<std::string> ids;
  while (true) {
    WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
    if (!row) break;
    ids.push_back(stmt->column_text(0));
  }
  std::vector<CollectionRow> rows;
  for (const auto& id : ids) {
    WINNOW_ASSIGN_OR_RETURN(CollectionRow row, find_collection(db, id));
    rows.push_back(std::move(row));
  }
  return rows;
}

Status remove_collection(Database& db, const CollectionRow& collection) {
  WINNOW_ASSIGN_OR_RETURN(auto changes, db.cached("DELETE FROM changes WHERE collection_key = ?1"));
  WINNOW_RETURN_IF_ERROR(changes->bind(1, collection.key).run());
  WINNOW_ASSIGN_OR_RETURN(auto erase, db.cached("DELETE FROM collections WHERE collection_key = ?1"));
  WINNOW_RETURN_IF_ERROR(erase->bind(1, collection.key).run());
  return drop_fts_table(db, collection.key);
}

Status prune_change_log(Database& db, std::int64_t collection_key, std::int64_t floor) {
  WINNOW_ASSIGN_OR_RETURN(auto prune, db.cached("DELETE FROM changes WHERE collection_key = ?1 AND seq <= ?2"));
  WINNOW_RETURN_IF_ERROR(prune->bind(1, collection_key).bind(2, floor).run());
  WINNOW_ASSIGN_OR_RETURN(
      auto record, db.cached("UPDATE collections SET log_floor = max(log_floor, ?2) WHERE collection_key = ?1"));
  return record->bind(1, collection_key).bind(2, floor).run();
}

}  // namespace winnow::store

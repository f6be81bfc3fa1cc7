#include "store/retrievers.h"

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

constexpr const char* kColumns = "retriever_id, collection_ids, input_schema, stages, created_at_ms";

Result<Retriever> retriever_from_row(const Statement& stmt) {
  Retriever out;
  out.retriever_id = stmt.column_text(0);
  nlohmann::json ids = nlohmann::json::parse(stmt.column_text(1), nullptr, false);
  out.input_schema = nlohmann::json::parse(stmt.column_text(2), nullptr, false);
  out.stages = nlohmann::json::parse(stmt.column_text(3), nullptr, false);
  if (ids.is_discarded() || !ids.is_array() || out.input_schema.is_discarded() || out.stages.is_discarded()) {
    return base::data_loss("retriever '" + out.retriever_id + "': stored definition is not valid JSON");
  }
  for (const auto& id : ids) out.collection_ids.push_back(id.is_string() ? id.get<std::string>() : id.dump());
  out.created_at_ms = stmt.column_int64(4);
  return out;
}

}  // namespace

Status insert_retriever(Database& db, const Retriever& retriever) {
  WINNOW_ASSIGN_OR_RETURN(auto exists, db.cached("SELECT 1 FROM retrievers WHERE retriever_id = ?1"));
  exists->bind(1, retriever.retriever_id);
  WINNOW_ASSIGN_OR_RETURN(bool taken, exists->step());
  if (taken) return base::already_exists("retriever '" + retriever.retriever_id + "' already exists");
  WINNOW_ASSIGN_OR_RETURN(auto insert, db.cached(std::string("INSERT INTO retrievers(") + kColumns +
                                                 ") VALUES(?1, ?2, ?3, ?4, ?5)"));
  return insert->bind(1, retriever.retriever_id)
      .bind(2, nlohmann::json(retriever.collection_ids).dump())
      .bind(3, retriever.input_schema.dump())
      .bind(4, retriever.stages.dump())
      .bind(5, retriever.created_at_ms)
      .run();
}

Result<Retriever> read_retriever(Database& db, std::string_view retriever_id) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached(std::string("SELECT ") + kColumns +
                                               " FROM retrievers WHERE retriever_id = ?1"));
  stmt->bind(1, retriever_id);
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  if (!row) return base::not_found("retriever '" + std::string(retriever_id) + "' not found");
  return retriever_from_row(*stmt);
}

Result<std::vector<Retriever>> read_retrievers(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt,
                          db.cached(std::string("SELECT ") + kColumns + " FROM retrievers ORDER BY retriever_id"));
  std::vector<Retriever> out;
  while (true) {
    WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
    if (!row) break;
    WINNOW_ASSIGN_OR_RETURN(Retriever retriever, retriever_from_row(*stmt));
    out.push_back(std::move(retriever));
  }
  return out;
}

Status erase_retriever(Database& db, std::string_view retriever_id) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("DELETE FROM retrievers WHERE retriever_id = ?1 RETURNING 1"));
  stmt->bind(1, retriever_id);
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  if (!row) return base::not_found("retriever '" + std::string(retriever_id) + "' not found");
  WINNOW_ASSIGN_OR_RETURN(bool more, stmt->step());
  (void)more;
  return {};
}

}  // namespace winnow::store

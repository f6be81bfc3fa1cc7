// Retriever definitions: a named pipeline (stages as stored JSON) over one or
// more collections. The store keeps them; pipeline/ validates and runs them.
#pragma once

#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/sqlite.h"
#include "store/types.h"

namespace winnow::store {

// AlreadyExists if the id is taken. The caller has validated the fields.
base::Status insert_retriever(Database& db, const Retriever& retriever);
// NotFound "retriever 'x' not found".
base::Result<Retriever> read_retriever(Database& db, std::string_view retriever_id);
base::Result<std::vector<Retriever>> read_retrievers(Database& db);  // by retriever_id
base::Status erase_retriever(Database& db, std::string_view retriever_id);

}  // namespace winnow::store

#include "server/routes.h"

namespace winnow::server {
namespace {

nlohmann::json collection_json(const store::Collection& c) {
  nlohmann::json j = c.settings.to_json();
  j["collection_id"] = c.collection_id;
  j["created_at_ms"] = c.created_at_ms;
  j["document_count"] = c.document_count;
  return j;
}

}  // namespace

void add_collection_routes(Api& api) {
  ServerContext& ctx = api.context();

  api.post("/v1/collections", [&ctx](const Request& req) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
    auto id = body.find("collection_id");
    if (id == body.end() || !id->is_string()) {
      return base::invalid_argument("request body: needs a string \"collection_id\"");
    }
    std::string collection_id = id->get<std::string>();
    body.erase("collection_id");
    // An index's model is checked against the model policy now, not at the first ingest.
    if (auto indexes = body.find("vector_indexes"); indexes != body.end() && indexes->is_array()) {
      for (std::size_t i = 0; i < indexes->size(); ++i) {
        const nlohmann::json& index = (*indexes)[i];
        auto model = index.is_object() ? index.find("model") : index.end();
        if (model == index.end() || !model->is_string() || model->get<std::string>().empty()) continue;
        base::Status allowed = ctx.registry->check_model(model->get<std::string>(), registry::ModelKind::kEmbedder);
        if (!allowed.ok()) return allowed.with_context("vector_indexes[" + std::to_string(i) + "].model");
      }
    }
    // The rest of the body is the collection's settings (text_fields, vector_indexes, bm25).
    WINNOW_ASSIGN_OR_RETURN(store::Collection created, ctx.store->create_collection(collection_id, body));
    return Reply{201, collection_json(created)};
  });

  api.get("/v1/collections", [&ctx](const Request&) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(std::vector<store::Collection> all, ctx.store->list_collections());
    nlohmann::json list = nlohmann::json::array();
    for (const store::Collection& c : all) list.push_back(collection_json(c));
    return Reply{200, {{"collections", std::move(list)}}};
  });

  api.get("/v1/collections/{id}", [&ctx](const Request& req) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(store::Collection c, ctx.store->get_collection(req.path_param("id")));
    return Reply{200, collection_json(c)};
  });

  api.del("/v1/collections/{id}", [&ctx](const Request& req) -> base::Result<Reply> {
    const std::string id = req.path_param("id");
    WINNOW_RETURN_IF_ERROR(ctx.store->delete_collection(id));
    return Reply{200, {{"deleted", id}}};
  });
}

}  // namespace winnow::server

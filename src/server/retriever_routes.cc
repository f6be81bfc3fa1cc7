#include "pipeline/executor.h"
#include "server/admission.h"
#include "server/routes.h"

namespace winnow::server {
namespace {

nlohmann::json retriever_json(const store::Retriever& r) {
  return {{"retriever_id", r.retriever_id},
          {"collection_ids", r.collection_ids},
          {"input_schema", r.input_schema},
          {"stages", r.stages},
          {"created_at_ms", r.created_at_ms}};
}

base::Result<std::vector<std::string>> string_list(const nlohmann::json& body, const std::string& key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_array() || it->empty()) {
    return base::invalid_argument("request body: \"" + key + "\" must be a non-empty array of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : *it) {
    if (!item.is_string()) return base::invalid_argument("request body: \"" + key + "\" must list strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

base::Result<std::optional<std::vector<std::string>>> return_fields(const nlohmann::json& body) {
  if (!body.contains("return_fields") || body["return_fields"].is_null()) {
    return std::optional<std::vector<std::string>>();
  }
  WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> fields, string_list(body, "return_fields"));
  return std::optional<std::vector<std::string>>(std::move(fields));
}

base::Status check_keys(const nlohmann::json& body, const std::vector<std::string>& known) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return base::invalid_argument("request body: unknown field \"" + it.key() + "\" (known: " + list + ")");
    }
  }
  return {};
}

base::Result<Reply> run(ServerContext& ctx, const Request& req, pipeline::PipelineRequest request,
                        const std::optional<std::vector<std::string>>& fields) {
  for (const std::string& collection : request.collection_ids) {
    WINNOW_RETURN_IF_ERROR(ctx.store->get_collection(collection).status());
  }
  WINNOW_ASSIGN_OR_RETURN(pipeline::PipelineResult result,
                          pipeline::execute_pipeline(ctx.services, ctx.pipeline_limits, request));
  for (const pipeline::StageStats& s : result.stages) {
    ctx.metrics.observe("winnow_pipeline_stage_duration_seconds", {{"stage_id", s.stage_id}},
                        s.milliseconds / 1000.0);
    if (s.stage_id == "rerank" && s.details.contains("candidates_scored")) {
      const double scored = s.details["candidates_scored"].get<double>();
      const std::string model = s.details.value("model", "");
      req.annotate("model", model);
      req.annotate("documents", scored);
      if (s.details.contains("tokens")) req.annotate("tokens", s.details["tokens"].get<double>());
      if (s.details.contains("precision")) req.annotate("precision", s.details["precision"].get<std::string>());
      ctx.metrics.increment("winnow_documents_scored_total", {{"model", model}}, scored);
      ctx.metrics.observe("winnow_rerank_documents", {{"model", model}}, scored);
    }
  }
  return Reply{200, pipeline::pipeline_result_json(result, fields)};
}

}  // namespace

void add_retriever_routes(Api& api) {
  ServerContext& ctx = api.context();

  api.post("/v1/retrievers", [&ctx](const Request& req) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
    WINNOW_RETURN_IF_ERROR(check_keys(body, {"retriever_id", "collection_ids", "input_schema", "stages"}));
    store::Retriever r;
    auto id = body.find("retriever_id");
    if (id == body.end() || !id->is_string()) return base::invalid_argument("request body: needs a string \"retriever_id\"");
    r.retriever_id = id->get<std::string>();
    WINNOW_ASSIGN_OR_RETURN(r.collection_ids, string_list(body, "collection_ids"));
    r.input_schema = body.value("input_schema", nlohmann::json());
    r.stages = body.value("stages", nlohmann::json());
    WINNOW_RETURN_IF_ERROR(pipeline::validate_pipeline(r.stages, r.input_schema));
    WINNOW_ASSIGN_OR_RETURN(store::Retriever created, ctx.store->create_retriever(std::move(r)));
    return Reply{201, retriever_json(created)};
  });

  api.get("/v1/retrievers", [&ctx](const Request&) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(std::vector<store::Retriever> all, ctx.store->list_retrievers());
    nlohmann::json list = nlohmann::json::array();
    for (const store::Retriever& r : all) list.push_back(retriever_json(r));
    return Reply{200, {{"retrievers", std::move(list)}}};
  });

  // Ad hoc: a pipeline that is not stored. Registered before /v1/retrievers/{id}.
  api.post_scoring("/v1/retrievers/execute",
           [&ctx](const Request& req) -> base::Result<Reply> {
             WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
             WINNOW_RETURN_IF_ERROR(
                 check_keys(body, {"collection_ids", "stages", "inputs", "input_schema", "return_fields", "timeout_ms"}));
             WINNOW_RETURN_IF_ERROR(apply_timeout_ms(body, req));
             pipeline::PipelineRequest request;
             WINNOW_ASSIGN_OR_RETURN(request.collection_ids, string_list(body, "collection_ids"));
             request.stages = body.value("stages", nlohmann::json());
             request.inputs = body.value("inputs", nlohmann::json::object());
             request.input_schema = body.value("input_schema", nlohmann::json());
             WINNOW_ASSIGN_OR_RETURN(auto fields, return_fields(body));
             return run(ctx, req, std::move(request), fields);
           });

  api.post_scoring("/v1/retrievers/{id}/execute",
           [&ctx](const Request& req) -> base::Result<Reply> {
             WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
             WINNOW_RETURN_IF_ERROR(check_keys(body, {"inputs", "return_fields", "timeout_ms"}));
             WINNOW_RETURN_IF_ERROR(apply_timeout_ms(body, req));
             WINNOW_ASSIGN_OR_RETURN(store::Retriever r, ctx.store->get_retriever(req.path_param("id")));
             pipeline::PipelineRequest request{r.collection_ids, r.stages,
                                               body.value("inputs", nlohmann::json::object()), r.input_schema};
             WINNOW_ASSIGN_OR_RETURN(auto fields, return_fields(body));
             WINNOW_ASSIGN_OR_RETURN(Reply reply, run(ctx, req, std::move(request), fields));
             reply.body["retriever_id"] = r.retriever_id;
             return reply;
           });

  api.get("/v1/retrievers/{id}", [&ctx](const Request& req) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(store::Retriever r, ctx.store->get_retriever(req.path_param("id")));
    return Reply{200, retriever_json(r)};
  });

  api.del("/v1/retrievers/{id}", [&ctx](const Request& req) -> base::Result<Reply> {
    const std::string id = req.path_param("id");
    WINNOW_RETURN_IF_ERROR(ctx.store->delete_retriever(id));
    return Reply{200, {{"deleted", id}}};
  });
}

}  // namespace winnow::server

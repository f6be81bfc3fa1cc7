// POST /v1/rerank and /v2/rerank in Cohere's shapes, so Cohere's SDKs and the
// LangChain / LlamaIndex Cohere rerankers work by changing the base URL:
//   {"model", "query", "documents": ["text", ...] | [{"text": ...}, ...], "top_n",
//    "return_documents", "rank_fields", "precision"?}
//   -> {"id", "results": [{"index", "relevance_score", "document"?: {"text"}}], "meta": {...}}
#include <random>

#include "server/routes.h"

namespace winnow::server {
namespace {

std::string request_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id += '-';
    id += hex[rng() % 16];
  }
  return id;
}

// The text a document object is ranked by: its rank_fields joined, or "text".
base::Result<std::string> document_text(const nlohmann::json& document, std::size_t index,
                                        const std::vector<std::string>& rank_fields) {
  const std::string where = "documents[" + std::to_string(index) + "]";
  if (document.is_string()) return document.get<std::string>();
  if (!document.is_object()) return base::invalid_argument(where + ": must be a string or an object");
  if (rank_fields.empty()) {
    auto text = document.find("text");
    if (text == document.end() || !text->is_string()) {
      return base::invalid_argument(where + ": an object needs a string \"text\" (or name rank_fields)");
    }
    return text->get<std::string>();
  }
  std::string joined;
  for (const std::string& field : rank_fields) {
    auto it = document.find(field);
    if (it == document.end()) continue;
    if (!it->is_string()) return base::invalid_argument(where + "." + field + ": rank_fields must name string fields");
    if (!joined.empty()) joined += '\n';
    joined += field + ": " + it->get<std::string>();
  }
  return joined;
}

base::Result<Reply> rerank(ServerContext& ctx, const Request& req, const std::string& api_version) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
  static const std::vector<std::string> kKnown = {"model",       "query",      "documents",          "top_n",
                                                  "return_documents", "rank_fields", "max_chunks_per_doc",
                                                  "max_tokens_per_doc", "precision", "timeout_ms"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end()) {
      return base::invalid_argument("request body: unknown field \"" + it.key() + "\"");
    }
  }
  auto model = body.find("model");
  if (model == body.end() || !model->is_string() || model->get<std::string>().empty()) {
    return base::invalid_argument("model: required, a model name, Hugging Face repo id or directory");
  }
  auto query = body.find("query");
  if (query == body.end() || !query->is_string()) return base::invalid_argument("query: required, a string");
  if (query->get_ref<const std::string&>().size() > ctx.limits.max_query_bytes) {
    return base::invalid_argument("query: longer than " + std::to_string(ctx.limits.max_query_bytes) + " bytes");
  }
  auto documents = body.find("documents");
  if (documents == body.end() || !documents->is_array()) {
    return base::invalid_argument("documents: required, an array of strings or objects");
  }
  if (documents->size() > ctx.limits.max_rerank_documents) {
    return base::invalid_argument("documents: " + std::to_string(documents->size()) + " documents, more than the " +
                                  std::to_string(ctx.limits.max_rerank_documents) +
                                  " one request may rank (--max-client-batch-size)");
  }
  WINNOW_RETURN_IF_ERROR(apply_timeout_ms(body, req));
  std::vector<std::string> rank_fields;
  if (auto it = body.find("rank_fields"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return base::invalid_argument("rank_fields: must be an array of field names");
    for (const auto& f : *it) {
      if (!f.is_string()) return base::invalid_argument("rank_fields: must be an array of field names");
      rank_fields.push_back(f.get<std::string>());
    }
  }
  std::size_t top_n = documents->size();
  if (auto it = body.find("top_n"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
      return base::invalid_argument("top_n: must be a positive integer, got " + it->dump());
    }
    top_n = std::min<std::size_t>(it->get<std::size_t>(), documents->size());
  }
  // Cohere's document-length controls, checked as Cohere types them; scoring does not use them yet.
  for (const char* field : {"max_tokens_per_doc", "max_chunks_per_doc"}) {
    if (auto it = body.find(field); it != body.end() && !it->is_null()) {
      if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 || it->get<std::uint64_t>() > (1u << 20)) {
        return base::invalid_argument(std::string(field) + ": must be an integer from 1 to 1048576, got " +
                                      it->dump());
      }
    }
  }
  bool return_documents = false;
  if (auto it = body.find("return_documents"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return base::invalid_argument("return_documents: must be true or false");
    return_documents = it->get<bool>();
  }
  rerankers::RerankOptions options;
  if (auto it = body.find("precision"); it != body.end() && !it->is_null()) {
    auto parsed = it->is_string() ? base::parse_precision(it->get<std::string>())
                                  : base::Result<base::Precision>(base::invalid_argument("not a string"));
    if (!parsed.ok()) return base::invalid_argument("precision: must be fp32, bf16, int8 or auto");
    if (*parsed != base::Precision::kAuto) options.precision = *parsed;
  }
  std::vector<std::string> texts;
  texts.reserve(documents->size());
  for (std::size_t i = 0; i < documents->size(); ++i) {
    WINNOW_ASSIGN_OR_RETURN(std::string text, document_text((*documents)[i], i, rank_fields));
    texts.push_back(std::move(text));
  }

  nlohmann::json results = nlohmann::json::array();
  nlohmann::json meta = {{"api_version", {{"version", api_version}}}, {"billed_units", {{"search_units", 0}}}};
  req.annotate("model", model->get<std::string>());
  req.annotate("documents", texts.size());
  if (!texts.empty()) {
    WINNOW_ASSIGN_OR_RETURN(std::shared_ptr<const rerankers::Reranker> reranker,
                            ctx.registry->reranker(model->get<std::string>()));
    WINNOW_ASSIGN_OR_RETURN(rerankers::RerankOutcome outcome, reranker->rerank(query->get<std::string>(), texts, top_n, options));
    for (const rerankers::RankedDocument& r : outcome.results) {
      nlohmann::json item = {{"index", r.index}, {"relevance_score", r.relevance_score}};
      if (return_documents) {
        const nlohmann::json& original = (*documents)[r.index];
        item["document"] = original.is_string() ? nlohmann::json{{"text", original}} : original;
      }
      results.push_back(std::move(item));
    }
    meta["billed_units"]["search_units"] = 1;
    meta["model"] = outcome.model;
    if (!outcome.revision.empty()) meta["revision"] = outcome.revision;
    if (!outcome.precision.empty()) meta["precision"] = outcome.precision;
    meta["documents_truncated"] = outcome.documents_truncated;
    meta["tokens"] = outcome.tokens_scored;
    req.annotate("model", outcome.model);
    req.annotate("tokens", outcome.tokens_scored);
    if (!outcome.precision.empty()) req.annotate("precision", outcome.precision);
    ctx.metrics.increment("winnow_documents_scored_total", {{"model", outcome.model}},
                          static_cast<double>(outcome.documents_scored));
    ctx.metrics.observe("winnow_rerank_documents", {{"model", outcome.model}},
                        static_cast<double>(outcome.documents_scored));
  }
  return Reply{200, {{"id", request_id()}, {"results", std::move(results)}, {"meta", std::move(meta)}}};
}

}  // namespace

void add_rerank_routes(Api& api) {
  ServerContext& ctx = api.context();
  api.post_scoring("/v1/rerank", [&ctx](const Request& req) { return rerank(ctx, req, "1"); });
  api.post_scoring("/v2/rerank", [&ctx](const Request& req) { return rerank(ctx, req, "2"); });
}

}  // namespace winnow::server

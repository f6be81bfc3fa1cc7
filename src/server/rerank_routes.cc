// POST /v1/rerank and /v2/rerank in Cohere's shapes, so Cohere's SDKs and the
// LangChain / LlamaIndex Cohere rerankers work by changing the base URL, with
// what Jina's, Together's and Infinity's shapes add (top-level "model" and
// "usage", "truncation"):
//   {"model", "query", "documents": ["text", ...] | [{"text": ...}, ...], "top_n",
//    "return_documents", "rank_fields", "max_tokens_per_doc", "max_chunks_per_doc",
//    extensions: "precision", "chunking", "truncation_direction", "min_score",
//    "raw_scores", "return_chunks"}
//   -> {"id", "model", "usage", "results": [{"index", "relevance_score", "document"?: {"text"},
//       "chunk"?}], "meta": {..., "score_cache"?: {"hits", "misses", "evictions"}}}
// And TEI's POST /rerank (tei_rerank below; the score cache's counts in
// X-Winnow-Score-Cache-Hits / -Misses / -Evictions headers).
#include <cmath>
#include <random>
#include <utility>

#include "rerankers/long_documents.h"
#include "server/routes.h"

namespace winnow::server {
namespace {

// meta.score_cache: what this request found in the score cache.
nlohmann::json score_cache_json(const rerankers::ScoreCacheUse& use) {
  return {{"hits", use.hits}, {"misses", use.misses}, {"evictions", use.evictions}};
}

void annotate_score_cache(const Request& req, const rerankers::RerankOutcome& outcome) {
  if (!outcome.score_cache) return;
  req.annotate("cache_hits", outcome.score_cache->hits);
  req.annotate("cache_misses", outcome.score_cache->misses);
}

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

// A rank_fields entry that no object document has ranks empty text: the
// caller misspelt it or sent other documents. InvalidArgument naming it.
base::Status check_rank_fields(const nlohmann::json& documents, const std::vector<std::string>& rank_fields) {
  bool any_object = false;
  for (const nlohmann::json& document : documents) any_object = any_object || document.is_object();
  if (!any_object) return {};
  for (const std::string& field : rank_fields) {
    bool found = false;
    for (const nlohmann::json& document : documents) {
      if (document.is_object() && document.contains(field)) {
        found = true;
        break;
      }
    }
    if (!found) return base::invalid_argument("rank_fields: no document has a field \"" + field + "\"");
  }
  return {};
}

// Fields of peers' published rerank APIs that Winnow accepts without acting
// on them, each with the meta.warnings sentence saying so. Anything else
// unknown is refused, so that misspellings of our own fields are caught.
const std::vector<std::pair<std::string, std::string>>& peer_fields() {
  static const std::vector<std::pair<std::string, std::string>> kFields = {
      {"priority", "priority (Cohere v2) is accepted and ignored: requests are served in arrival order"},
      {"user", "user is accepted and ignored"},
      {"return_embeddings", "return_embeddings (Jina) is accepted and ignored: a cross-encoder has no embeddings"},
  };
  return kFields;
}

// The long-document and score fields every shape shares, into `options`.
struct ScoringFields {
  rerankers::RerankOptions options;
  std::optional<double> min_score;
  bool raw_scores = false;
  bool return_chunks = false;
};

base::Result<ScoringFields> scoring_fields(const nlohmann::json& body) {
  ScoringFields f;
  for (const char* field : {"max_tokens_per_doc", "max_chunks_per_doc"}) {
    if (auto it = body.find(field); it != body.end() && !it->is_null()) {
      if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 || it->get<std::uint64_t>() > (1u << 20)) {
        return base::invalid_argument(std::string(field) + ": must be an integer from 1 to 1048576, got " +
                                      it->dump());
      }
    }
  }
  if (auto it = body.find("max_tokens_per_doc"); it != body.end() && !it->is_null()) {
    f.options.max_tokens_per_doc = it->get<std::size_t>();
  }
  if (auto it = body.find("chunking"); it != body.end() && !it->is_null()) {
    WINNOW_ASSIGN_OR_RETURN(f.options.chunking, rerankers::chunking_from_json(*it, "chunking"));
  }
  if (auto it = body.find("max_chunks_per_doc"); it != body.end() && !it->is_null()) {
    if (it->get<std::uint64_t>() > rerankers::kMaxChunksPerDocument) {
      return base::invalid_argument("max_chunks_per_doc: at most " + std::to_string(rerankers::kMaxChunksPerDocument) +
                                    ", got " + it->dump());
    }
    if (f.options.chunking) return base::invalid_argument("max_chunks_per_doc: give it or \"chunking\", not both");
    f.options.chunking = rerankers::ChunkingOptions{};
    f.options.chunking->max_chunks = it->get<std::size_t>();
  }
  if (auto it = body.find("truncation_direction"); it != body.end() && !it->is_null()) {
    WINNOW_ASSIGN_OR_RETURN(f.options.truncation_direction,
                            rerankers::truncation_direction_from_json(*it, "truncation_direction"));
  }
  // Jina's and Voyage's "truncation": false refuses documents that do not fit.
  if (auto it = body.find("truncation"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return base::invalid_argument("truncation: must be true or false, got " + it->dump());
    f.options.truncate = it->get<bool>();
  }
  if (auto it = body.find("min_score"); it != body.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 1)) {
      return base::invalid_argument("min_score: must be a number from 0 to 1, got " + it->dump());
    }
    f.min_score = it->get<double>();
  }
  for (auto [field, flag] : {std::pair{"raw_scores", &f.raw_scores}, std::pair{"return_chunks", &f.return_chunks}}) {
    if (auto it = body.find(field); it != body.end() && !it->is_null()) {
      if (!it->is_boolean()) return base::invalid_argument(std::string(field) + ": must be true or false, got " + it->dump());
      *flag = it->get<bool>();
    }
  }
  // Decoder rerankers' task instruction (Winnow's extension; refused by models without one).
  if (auto it = body.find("instruction"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return base::invalid_argument("instruction: must be a string, got " + it->dump());
    f.options.instruction = it->get<std::string>();
  }
  if (f.return_chunks && !f.options.chunking) {
    return base::invalid_argument("return_chunks: only with \"chunking\" or \"max_chunks_per_doc\"");
  }
  return f;
}

base::Result<Reply> rerank(ServerContext& ctx, const Request& req, const std::string& api_version) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
  static const std::vector<std::string> kKnown = {
      "model",       "query",    "documents", "top_n",      "return_documents",     "rank_fields", "max_chunks_per_doc",
      "max_tokens_per_doc", "precision", "chunking", "truncation_direction", "truncation", "min_score",
      "raw_scores",  "return_chunks", "timeout_ms", "instruction"};
  std::vector<std::string> warnings;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) != kKnown.end()) continue;
    auto peer = std::find_if(peer_fields().begin(), peer_fields().end(),
                             [&](const auto& f) { return f.first == it.key(); });
    if (peer == peer_fields().end()) {
      return base::invalid_argument("request body: unknown field \"" + it.key() + "\"");
    }
    warnings.push_back(peer->second);
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
  WINNOW_ASSIGN_OR_RETURN(ScoringFields scoring, scoring_fields(body));
  bool return_documents = false;
  if (auto it = body.find("return_documents"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return base::invalid_argument("return_documents: must be true or false");
    return_documents = it->get<bool>();
  }
  rerankers::RerankOptions& options = scoring.options;
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
  WINNOW_RETURN_IF_ERROR(check_rank_fields(*documents, rank_fields));

  nlohmann::json results = nlohmann::json::array();
  nlohmann::json meta = {{"api_version", {{"version", api_version}}}, {"billed_units", {{"search_units", 0}}}};
  std::string answered_by = model->get<std::string>();
  std::size_t tokens = 0;
  req.annotate("model", model->get<std::string>());
  req.annotate("documents", texts.size());
  if (!texts.empty()) {
    WINNOW_ASSIGN_OR_RETURN(std::shared_ptr<const rerankers::Reranker> reranker,
                            ctx.registry->reranker(model->get<std::string>()));
    WINNOW_ASSIGN_OR_RETURN(rerankers::RerankOutcome outcome, reranker->rerank(query->get<std::string>(), texts, top_n, options));
    std::size_t below = 0;
    for (const rerankers::RankedDocument& r : outcome.results) {
      if (scoring.min_score && r.relevance_score < *scoring.min_score) {
        ++below;
        continue;
      }
      nlohmann::json item = {{"index", r.index},
                             {"relevance_score", scoring.raw_scores ? static_cast<double>(r.logit) : r.relevance_score}};
      if (return_documents) {
        const nlohmann::json& original = (*documents)[r.index];
        item["document"] = original.is_string() ? nlohmann::json{{"text", original}} : original;
      }
      if (scoring.return_chunks && r.chunk) {
        item["chunk"] = {{"index", r.chunk->index}, {"chunks", r.chunk->chunks}, {"start", r.chunk->start},
                         {"end", r.chunk->end}};
      }
      results.push_back(std::move(item));
    }
    if (scoring.min_score) meta["documents_below_min_score"] = below;
    if (options.chunking) meta["chunks_scored"] = outcome.chunks_scored;
    warnings.insert(warnings.end(), outcome.warnings.begin(), outcome.warnings.end());
    answered_by = outcome.model;
    tokens = outcome.tokens_scored;
    meta["billed_units"]["search_units"] = 1;
    meta["model"] = outcome.model;
    if (!outcome.revision.empty()) meta["revision"] = outcome.revision;
    if (!outcome.precision.empty()) meta["precision"] = outcome.precision;
    meta["documents_truncated"] = outcome.documents_truncated;
    meta["tokens"] = outcome.tokens_scored;
    if (outcome.score_cache) meta["score_cache"] = score_cache_json(*outcome.score_cache);
    annotate_score_cache(req, outcome);
    req.annotate("model", outcome.model);
    req.annotate("tokens", outcome.tokens_scored);
    if (!outcome.precision.empty()) req.annotate("precision", outcome.precision);
    ctx.metrics.increment("winnow_documents_scored_total", {{"model", outcome.model}},
                          static_cast<double>(outcome.documents_scored));
    ctx.metrics.observe("winnow_rerank_documents", {{"model", outcome.model}},
                        static_cast<double>(outcome.documents_scored));
  }
  if (!warnings.empty()) meta["warnings"] = warnings;
  // Together's, Jina's and Infinity's clients read "model" and "usage" at the top level.
  return Reply{200,
               {{"id", request_id()},
                {"object", "rerank"},
                {"model", answered_by},
                {"results", std::move(results)},
                {"usage", {{"prompt_tokens", tokens}, {"completion_tokens", 0}, {"total_tokens", tokens}}},
                {"meta", std::move(meta)}}};
}

// TEI's error kinds ("error_type") and the status TEI gives each; a document
// too long for the model with truncation off is 413 (OutOfRange, as TEI's
// Validation answer for it).
std::pair<int, const char*> tei_status_and_type(base::StatusCode code) {
  switch (code) {
    case base::StatusCode::kOutOfRange: return {413, "Validation"};
    case base::StatusCode::kInvalidArgument:
    case base::StatusCode::kFailedPrecondition:
    case base::StatusCode::kNotFound: return {422, "Validation"};
    case base::StatusCode::kResourceExhausted: return {429, "Overloaded"};
    case base::StatusCode::kUnavailable: return {503, "Unhealthy"};
    case base::StatusCode::kUnauthenticated: return {401, "Validation"};
    case base::StatusCode::kPermissionDenied: return {403, "Validation"};
    default: return {424, "Backend"};
  }
}

// TEI's error answer: {"error": message, "error_type": kind}.
Reply tei_error(const base::Status& status) {
  const auto [code, type] = tei_status_and_type(status.code());
  return Reply{code, {{"error", status.message()}, {"error_type", type}}};
}

// The errors the server makes around the handler (429s of admission, 504 past
// a deadline, 401) in TEI's body, keeping their status and Retry-After, so a
// TEI client reads "error" and "error_type" whatever went wrong.
void tei_error_shape(Response& error) {
  const char* type = tei_status_and_type(error.error_status).second;
  error.body = nlohmann::json{{"error", error.error_message}, {"error_type", type}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// POST /rerank in TEI's shape (huggingface/text-embeddings-inference):
//   {"query", "texts": [strings], "raw_scores"?, "return_text"?, "truncate"? (default
//    true, as TEI's --auto-truncate), "truncation_direction"? ("right"/"left", any case),
//    extension: "model" (default: serve's --default-reranker)}
//   -> [{"index", "score", "text"?}], every text, best first.
base::Result<Reply> tei_rerank_checked(ServerContext& ctx, const Request& req) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, json_body(req, ctx));
  static const std::vector<std::string> kKnown = {"query", "texts", "raw_scores", "return_text", "truncate",
                                                  "truncation_direction", "model"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end()) {
      return base::invalid_argument("request body: unknown field \"" + it.key() + "\"");
    }
  }
  auto query = body.find("query");
  if (query == body.end() || !query->is_string()) return base::invalid_argument("query: required, a string");
  if (query->get_ref<const std::string&>().size() > ctx.limits.max_query_bytes) {
    return base::invalid_argument("query: longer than " + std::to_string(ctx.limits.max_query_bytes) + " bytes");
  }
  auto texts = body.find("texts");
  if (texts == body.end() || !texts->is_array()) return base::invalid_argument("texts: required, an array of strings");
  // TEI's own answer to an empty list: its "Empty" kind, 400.
  if (texts->empty()) return Reply{400, {{"error", "`texts` cannot be empty"}, {"error_type", "Empty"}}};
  if (texts->size() > ctx.limits.max_rerank_documents) {
    return base::invalid_argument("texts: " + std::to_string(texts->size()) + " texts, more than the " +
                                  std::to_string(ctx.limits.max_rerank_documents) +
                                  " one request may rank (--max-client-batch-size)");
  }
  std::vector<std::string> documents;
  documents.reserve(texts->size());
  for (std::size_t i = 0; i < texts->size(); ++i) {
    if (!(*texts)[i].is_string()) return base::invalid_argument("texts[" + std::to_string(i) + "]: must be a string");
    documents.push_back((*texts)[i].get<std::string>());
  }
  bool raw_scores = false;
  bool return_text = false;
  for (auto [field, flag] : {std::pair{"raw_scores", &raw_scores}, std::pair{"return_text", &return_text}}) {
    if (auto it = body.find(field); it != body.end() && !it->is_null()) {
      if (!it->is_boolean()) return base::invalid_argument(std::string(field) + ": must be true or false");
      *flag = it->get<bool>();
    }
  }
  rerankers::RerankOptions options;
  if (auto it = body.find("truncate"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return base::invalid_argument("truncate: must be true or false");
    options.truncate = it->get<bool>();
  }
  if (auto it = body.find("truncation_direction"); it != body.end() && !it->is_null()) {
    WINNOW_ASSIGN_OR_RETURN(options.truncation_direction,
                            rerankers::truncation_direction_from_json(*it, "truncation_direction"));
  }
  std::string model = ctx.default_reranker;
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().empty()) return base::invalid_argument("model: must be a model name");
    model = it->get<std::string>();
  }
  if (model.empty()) {
    return base::invalid_argument("model: TEI's /rerank names no model; send \"model\" or start the server with "
                                  "--default-reranker NAME");
  }
  req.annotate("model", model);
  req.annotate("documents", documents.size());
  WINNOW_ASSIGN_OR_RETURN(std::shared_ptr<const rerankers::Reranker> reranker, ctx.registry->reranker(model));
  WINNOW_ASSIGN_OR_RETURN(rerankers::RerankOutcome outcome,
                          reranker->rerank(query->get<std::string>(), documents, documents.size(), options));
  nlohmann::json ranks = nlohmann::json::array();
  for (const rerankers::RankedDocument& r : outcome.results) {
    nlohmann::json rank = {{"index", r.index},
                           {"score", raw_scores ? static_cast<double>(r.logit) : r.relevance_score}};
    if (return_text) rank["text"] = documents[r.index];
    ranks.push_back(std::move(rank));
  }
  req.annotate("model", outcome.model);
  req.annotate("tokens", outcome.tokens_scored);
  annotate_score_cache(req, outcome);
  ctx.metrics.increment("winnow_documents_scored_total", {{"model", outcome.model}},
                        static_cast<double>(outcome.documents_scored));
  ctx.metrics.observe("winnow_rerank_documents", {{"model", outcome.model}},
                      static_cast<double>(outcome.documents_scored));
  Reply reply{200, std::move(ranks)};
  // TEI's answer is a bare array: the score cache's counts go in headers.
  if (outcome.score_cache) {
    reply.headers = {{"X-Winnow-Score-Cache-Hits", std::to_string(outcome.score_cache->hits)},
                     {"X-Winnow-Score-Cache-Misses", std::to_string(outcome.score_cache->misses)},
                     {"X-Winnow-Score-Cache-Evictions", std::to_string(outcome.score_cache->evictions)}};
  }
  return reply;
}

base::Result<Reply> tei_rerank(ServerContext& ctx, const Request& req) {
  base::Result<Reply> reply = tei_rerank_checked(ctx, req);
  if (reply.ok()) return reply;
  return tei_error(reply.status());
}

}  // namespace

void add_rerank_routes(Api& api) {
  ServerContext& ctx = api.context();
  api.post_scoring("/rerank", [&ctx](const Request& req) { return tei_rerank(ctx, req); }, tei_error_shape);
  api.post_scoring("/v1/rerank", [&ctx](const Request& req) { return rerank(ctx, req, "1"); });
  api.post_scoring("/v2/rerank", [&ctx](const Request& req) { return rerank(ctx, req, "2"); });
}

}  // namespace winnow::server

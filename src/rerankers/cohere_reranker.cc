#include "rerankers/cohere_reranker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"

namespace winnow::rerankers {

namespace {

using nlohmann::json;

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return text;
}

// The error message an API put in its body: Cohere's {"message"}, OpenAI-style
// {"error": {"message"}} or {"error": "..."}, else the start of the raw text.
std::string body_message(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    if (parsed.contains("message") && parsed["message"].is_string()) return parsed["message"].get<std::string>();
    if (parsed.contains("error")) {
      const json& error = parsed["error"];
      if (error.is_string()) return error.get<std::string>();
      if (error.is_object() && error.contains("message") && error["message"].is_string()) {
        return error["message"].get<std::string>();
      }
    }
  }
  std::string text = body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

bool retryable(const net::HttpResponse& r) {
  if (r.failure == net::HttpFailure::kInterrupted) return true;  // reset or empty reply: reranking is idempotent
  if (!r.complete()) return false;  // timeouts spend the caller's budget; refused means nobody is there
  return r.status == 429 || r.status >= 500;
}

bool is_cohere_api(const std::string& base_url) {
  const std::string origin = net::url_origin(base_url);
  return origin.size() >= 10 && origin.compare(origin.size() - 10, 10, "cohere.com") == 0;
}

}  // namespace

struct CohereReranker::Chunk {
  std::vector<RankedDocument> results;  // indices into the chunk
  std::string model;
  std::string revision;
  std::size_t tokens = 0;
};

base::Result<std::unique_ptr<CohereReranker>> CohereReranker::create(CohereOptions options) {
  if (options.base_url.rfind("http://", 0) != 0 && options.base_url.rfind("https://", 0) != 0) {
    return base::invalid_argument("remote reranker: base URL '" + options.base_url + "' is not an http(s) URL");
  }
  if (options.model.empty()) return base::invalid_argument("remote reranker at " + options.base_url + ": no model named");
  if (options.max_documents_per_request == 0) {
    return base::invalid_argument("remote reranker at " + options.base_url + ": max_documents_per_request must be >= 1");
  }
  if (!options.api_key) {
    options.api_key = options.api == RemoteApi::kTei ? "" : base::env("COHERE_API_KEY").value_or("");
  }
  if (options.api_key->empty() && is_cohere_api(options.base_url)) {
    return base::failed_precondition("Cohere's API needs a key: set COHERE_API_KEY (model " + options.model + ")");
  }
  return std::make_unique<CohereReranker>(std::move(options));
}

CohereReranker::CohereReranker(CohereOptions options) : options_(std::move(options)) {
  std::string base = options_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string path = !options_.path.empty() ? options_.path : options_.api == RemoteApi::kTei ? "/rerank" : "/v2/rerank";
  if (path.front() != '/') path.insert(path.begin(), '/');
  url_ = base + path;
}

bool CohereReranker::is_v1_path() const { return url_.size() >= 10 && url_.compare(url_.size() - 10, 10, "/v1/rerank") == 0; }

base::Status CohereReranker::error_for(const net::HttpResponse& r, int tries) const {
  const std::string after = tries > 1 ? " after " + std::to_string(tries) + " tries" : "";
  switch (r.failure) {
    case net::HttpFailure::kNone: break;
    case net::HttpFailure::kTimeout:
      return base::deadline_exceeded(url_ + " did not answer within the " + seconds_text(options_.timeout) +
                                     " timeout (connect timeout " + seconds_text(options_.connect_timeout) +
                                     "): " + r.failure_message);
    case net::HttpFailure::kConnect: return base::unavailable("cannot connect to " + url_ + ": " + r.failure_message);
    case net::HttpFailure::kInterrupted:
      return base::unavailable("the connection to " + url_ + " broke" + after + ": " + r.failure_message);
    case net::HttpFailure::kAborted:
    case net::HttpFailure::kOther: return base::unavailable(url_ + ": " + r.failure_message);
  }
  const std::string answered = url_ + " answered " + std::to_string(r.status) + after + ": " + body_message(r.body);
  switch (r.status) {
    case 401:
      if (options_.api == RemoteApi::kTei) return base::unauthenticated("the TEI server rejected the API key: " + answered);
      return base::unauthenticated("Cohere rejected the API key (COHERE_API_KEY): " + answered);
    case 403:
      if (options_.api == RemoteApi::kTei) return base::permission_denied("the TEI server refused: " + answered);
      return base::permission_denied("the API key (COHERE_API_KEY) may not use model " + options_.model + ": " + answered);
    case 429: return base::resource_exhausted("rate limited / quota exhausted: " + answered);
    case 400:
    case 413:
    case 422: return base::invalid_argument("the rerank API refused the request: " + answered);
    case 404: return base::not_found("no rerank endpoint or model " + options_.model + " there: " + answered);
    default: break;
  }
  if (r.status >= 500) return base::unavailable("the rerank API is failing: " + answered);
  return base::internal_error("unexpected answer: " + answered);
}

base::Result<CohereReranker::Chunk> CohereReranker::rerank_chunk(std::string_view query,
                                                                 std::span<const std::string> documents,
                                                                 std::size_t top_n,
                                                                 const RerankOptions& options) const {
  json body;
  if (options_.api == RemoteApi::kTei) {
    // Raw logits, so that the sigmoid is taken here as for local models and
    // the logit is known.
    body = {{"query", std::string(query)},
            {"texts", json::array()},
            {"raw_scores", true},
            {"truncate", options.truncate},
            {"truncation_direction", options.truncation_direction == TruncationDirection::kLeft ? "Left" : "Right"}};
    for (const std::string& document : documents) body["texts"].push_back(document);
  } else {
    body = {{"model", options_.model}, {"query", std::string(query)}, {"documents", json::array()}, {"top_n", top_n}};
    for (const std::string& document : documents) body["documents"].push_back(document);
    if (options.max_tokens_per_doc) body["max_tokens_per_doc"] = *options.max_tokens_per_doc;
    if (options.chunking && is_v1_path()) body["max_chunks_per_doc"] = options.chunking->max_chunks;
  }

  net::HttpRequest request;
  request.method = "POST";
  request.url = url_;
  request.headers = {"Content-Type: application/json", "Accept: application/json", "User-Agent: " + net::user_agent()};
  if (options_.api_key && !options_.api_key->empty()) request.headers.push_back("Authorization: Bearer " + *options_.api_key);
  // Invalid UTF-8 in a document is replaced rather than failing the whole request.
  request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.timeout;

  net::RetryPolicy policy = options_.retry;
  policy.give_up_on_long_retry_after = true;  // a caller is waiting on this request
  const net::RetriedResponse retried = net::perform_with_retries(client_, request, policy, retryable);
  if (retried.refused_wait) {
    return base::resource_exhausted("rate limited / quota exhausted: " + url_ + " asks to retry after " +
                                    seconds_text(*retried.refused_wait) + ", more than the " +
                                    seconds_text(options_.retry.max_delay) + " this client waits");
  }
  const net::HttpResponse& response = retried.response;
  const int tries = retried.tries;
  if (!response.success()) return error_for(response, tries);

  const auto malformed = [&](const std::string& what) {
    return base::internal_error("malformed response from " + url_ + ": " + what);
  };
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return malformed("not JSON: " + response.body.substr(0, 120));
  const json* results = nullptr;
  if (parsed.is_array()) {
    results = &parsed;  // a bare list of results, as TEI's native /rerank answers
  } else if (parsed.is_object() && parsed.contains("results") && parsed["results"].is_array()) {
    results = &parsed["results"];
  } else {
    return malformed("no \"results\" array");
  }

  Chunk chunk;
  std::vector<bool> seen(documents.size(), false);
  for (std::size_t i = 0; i < results->size(); ++i) {
    const json& item = (*results)[i];
    const std::string where = "results[" + std::to_string(i) + "]";
    if (!item.is_object()) return malformed(where + " is not an object");
    if (!item.contains("index") || !item["index"].is_number_integer()) return malformed(where + ".index is missing or not an integer");
    const long long index = item["index"].get<long long>();
    if (index < 0 || static_cast<std::size_t>(index) >= documents.size()) {
      return malformed(where + ".index " + std::to_string(index) + " is out of range for " +
                       std::to_string(documents.size()) + " documents");
    }
    if (seen[static_cast<std::size_t>(index)]) return malformed(where + ".index " + std::to_string(index) + " appears twice");
    seen[static_cast<std::size_t>(index)] = true;
    const char* score_key = options_.api == RemoteApi::kTei                                  ? "score"
                            : item.contains("relevance_score") || !item.contains("score") ? "relevance_score"
                                                                                          : "score";
    if (!item.contains(score_key) || !item[score_key].is_number()) {
      return malformed(where + "." + score_key + " is missing or not a number");
    }
    RankedDocument ranked;
    ranked.index = static_cast<std::size_t>(index);
    if (options_.api == RemoteApi::kTei) {
      ranked.logit = item[score_key].get<float>();
      ranked.relevance_score = 1.0 / (1.0 + std::exp(-item[score_key].get<double>()));
    } else {
      ranked.relevance_score = item[score_key].get<double>();
      // Cohere's APIs give a probability; its logit, for callers that ask for raw scores.
      const double p = std::clamp(ranked.relevance_score, 1e-12, 1 - 1e-12);
      ranked.logit = static_cast<float>(std::log(p / (1 - p)));
    }
    chunk.results.push_back(ranked);
  }
  if (parsed.is_object()) {
    if (parsed.contains("model") && parsed["model"].is_string()) chunk.model = parsed["model"].get<std::string>();
    if (parsed.contains("revision") && parsed["revision"].is_string()) {
      chunk.revision = parsed["revision"].get<std::string>();
    } else if (parsed.contains("meta") && parsed["meta"].is_object()) {
      const json& meta = parsed["meta"];
      if (meta.contains("api_version") && meta["api_version"].is_object() && meta["api_version"].contains("version") &&
          meta["api_version"]["version"].is_string()) {
        chunk.revision = "api v" + meta["api_version"]["version"].get<std::string>();
      }
    }
    if (parsed.contains("usage") && parsed["usage"].is_object() && parsed["usage"].contains("total_tokens") &&
        parsed["usage"]["total_tokens"].is_number_unsigned()) {
      chunk.tokens = parsed["usage"]["total_tokens"].get<std::size_t>();
    }
  }
  return chunk;
}

base::Result<RerankOutcome> CohereReranker::rerank(std::string_view query, std::span<const std::string> documents,
                                                   std::size_t top_n, const RerankOptions& options) const {
  if (options.precision && *options.precision != base::Precision::kAuto) {
    return base::invalid_argument("precision applies to local models; " + url_ + " chooses its own");
  }
  if (top_n == 0) return base::invalid_argument("rerank: top_n must be at least 1");
  if (options.instruction) {
    return base::invalid_argument("instruction: " + url_ + " takes no instruction (its API has no such field)");
  }
  RerankOutcome outcome;
  outcome.model = options_.model;
  if (documents.empty()) return outcome;
  const bool tei = options_.api == RemoteApi::kTei;
  if (options.chunking && (tei || !is_v1_path())) {
    outcome.warnings.push_back("chunking is not available from " + url_ + " (only Cohere's v1 max_chunks_per_doc): " +
                               "long documents were truncated there");
  }
  if (tei && options.max_tokens_per_doc) {
    outcome.warnings.push_back("max_tokens_per_doc is not available from " + url_ + ": it truncates to its model's "
                               "window only");
  }
  if (!tei && options.truncation_direction == TruncationDirection::kLeft) {
    outcome.warnings.push_back("truncation_direction \"left\" is not available from " + url_ +
                               ": it truncates documents at their end");
  }
  if (!tei && !options.truncate) {
    outcome.warnings.push_back("truncation cannot be turned off at " + url_ + ": it truncates long documents");
  }

  const std::size_t limit = options_.max_documents_per_request;
  for (std::size_t offset = 0; offset < documents.size(); offset += limit) {
    const std::size_t size = std::min(limit, documents.size() - offset);
    auto chunk = rerank_chunk(query, documents.subspan(offset, size), std::min(top_n, size), options);
    if (!chunk.ok()) {
      if (documents.size() <= limit) return chunk.status();
      return chunk.status().with_context("documents " + std::to_string(offset) + ".." +
                                         std::to_string(offset + size - 1));
    }
    for (RankedDocument ranked : chunk->results) {
      ranked.index += offset;
      outcome.results.push_back(ranked);
    }
    if (!chunk->model.empty()) outcome.model = chunk->model;
    if (!chunk->revision.empty()) outcome.revision = chunk->revision;
    outcome.tokens_scored += chunk->tokens;
  }
  std::stable_sort(outcome.results.begin(), outcome.results.end(), [](const RankedDocument& a, const RankedDocument& b) {
    if (a.relevance_score != b.relevance_score) return a.relevance_score > b.relevance_score;
    return a.index < b.index;
  });
  if (outcome.results.size() > top_n) outcome.results.resize(top_n);
  outcome.documents_scored = documents.size();
  return outcome;
}

}  // namespace winnow::rerankers

// A Reranker that asks a remote Cohere-compatible rerank API: Cohere's own
// (POST https://api.cohere.com/v2/rerank) or anything that speaks its shapes
// on /v1/rerank or /v2/rerank (another Winnow, llama.cpp's server, ...):
//   request  {"model", "query", "documents": [strings], "top_n"}
//   response {"results": [{"index", "relevance_score"}], "id", "meta"}
// Pointing a model entry at another machine's Winnow is how scoring spreads
// over several machines.
//
// The same client speaks TEI's native POST /rerank (RemoteApi::kTei, Hugging
// Face text-embeddings-inference), with the same retries and timeouts:
//   request  {"query", "texts": [strings], "raw_scores": true, "truncate", "truncation_direction"}
//   response [{"index", "score"}]  (every text; the raw logit, sigmoid taken here)
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "net/http_client.h"
#include "net/retry.h"
#include "rerankers/reranker.h"

namespace winnow::rerankers {

inline constexpr std::string_view kCohereBaseUrl = "https://api.cohere.com";

enum class RemoteApi {
  kCohere,  // Cohere's /v1 or /v2 rerank shapes
  kTei,     // TEI's /rerank
};

struct CohereOptions {
  RemoteApi api = RemoteApi::kCohere;
  std::string model = "rerank-english-v3.0";  // sent as "model"; what the endpoint should rank with
  std::string base_url = std::string(kCohereBaseUrl);
  // "": /v2/rerank for Cohere's shape, /rerank for TEI's; "/v1/rerank" for
  // llama.cpp's server and other v1 shapes.
  std::string path;
  std::optional<std::string> api_key;         // Cohere: default $COHERE_API_KEY; "" sends no Authorization header
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{30'000};  // one request, from connect to the last byte; not retried
  net::RetryPolicy retry;                          // 429, 5xx and broken connections; Retry-After honoured up to max_delay
  std::size_t max_documents_per_request = 1000;  // Cohere's limit (TEI's default is 32); above it the documents are split
};

class CohereReranker : public Reranker {
 public:
  // Checks the options (an http(s) base URL, a model, a document limit >= 1)
  // and resolves the API key: FailedPrecondition when Cohere's own API is the
  // target and neither options.api_key nor COHERE_API_KEY is set.
  static base::Result<std::unique_ptr<CohereReranker>> create(CohereOptions options);

  // Prefer create(), which validates `options`; this takes them as they are.
  explicit CohereReranker(CohereOptions options);

  // One request per max_documents_per_request documents, sent one after the
  // other; each asks for its best min(top_n, size), which always contains the
  // overall top_n. The rankings are merged (indices rebased to `documents`),
  // best first, ties in input order, cut to top_n. top_n == 0 is InvalidArgument;
  // no documents means no request. Long-document options the API has are
  // sent (Cohere: max_tokens_per_doc, and max_chunks_per_doc on /v1 paths;
  // TEI: truncate, truncation_direction); the others are named in the
  // outcome's warnings. Thread-safe.
  // Errors: Unauthenticated (bad key), PermissionDenied, ResourceExhausted (rate
  // limited or out of quota after the retries), DeadlineExceeded (options.timeout
  // ran out; names the URL and the timeout), Unavailable (refused, unreachable,
  // 5xx after the retries), InvalidArgument (the API refused the request),
  // Internal (a malformed response, naming what was wrong).
  base::Result<RerankOutcome> rerank(std::string_view query, std::span<const std::string> documents,
                                     std::size_t top_n,
                                     const RerankOptions& options = {}) const override;

  const CohereOptions& options() const { return options_; }
  // base_url + path
  const std::string& url() const { return url_; }

 private:
  struct Chunk;
  base::Result<Chunk> rerank_chunk(std::string_view query, std::span<const std::string> documents,
                                   std::size_t top_n, const RerankOptions& options) const;
  base::Status error_for(const net::HttpResponse& response, int tries) const;
  bool is_v1_path() const;

  CohereOptions options_;
  std::string url_;
  net::HttpClient client_;
};

}  // namespace winnow::rerankers

// A stage of a retriever pipeline and what it may use while it runs.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "pipeline/candidate.h"
#include "registry/model_registry.h"
#include "rerankers/reranker.h"
#include "store/store.h"

namespace winnow::pipeline {

// Stage categories of the pipeline contract (DESIGN.md).
enum class StageType { kFilter, kSort, kReduce };
std::string_view stage_type_name(StageType type);

// What stages reach below them. The server wires these to the store and the
// model registry; tests wire fakes.
struct PipelineServices {
  store::Store* store = nullptr;
  // A reranker by model name, repo id or path (loaded on first use).
  std::function<base::Result<std::shared_ptr<const rerankers::Reranker>>(std::string_view model)> reranker;
  // Embeddings of texts with an embedding model, one per text in order: query
  // texts for semantic search, documents at ingest.
  std::function<base::Result<std::vector<std::vector<float>>>(std::string_view model,
                                                              std::span<const std::string> texts)>
      embed;
};

// Services backed by a store and a model registry (what the server and the
// command line use). `registry` loads models on first use.
PipelineServices services_for(store::Store& store, registry::ModelRegistry& registry);

// The function a store ingest calls to fill `collection_id`'s vector indexes
// from their models.
store::EmbedFunction ingest_embedder(const PipelineServices& services, const std::string& collection_id);

struct PipelineLimits {
  std::size_t max_top_k = 10000;              // per search stage
  std::size_t default_max_candidates = 1000;  // rerank refuses more, unless its stage raises it
  std::size_t max_filter_scan = 100000;       // structured_filter as a first stage scans at most this many
};

// Shared by the stages of one execution.
class StageContext {
 public:
  StageContext(const PipelineServices& services, const PipelineLimits& limits,
               std::vector<std::string> collection_ids)
      : services_(services), limits_(limits), collection_ids_(std::move(collection_ids)) {}

  const PipelineServices& services() const { return services_; }
  const PipelineLimits& limits() const { return limits_; }
  const std::vector<std::string>& collection_ids() const { return collection_ids_; }

  // True until the first stage has run: the input is then the whole
  // collection(s), not a candidate list.
  bool at_start() const { return at_start_; }
  void mark_started() { at_start_ = false; }

  // Fetches the stored documents of candidates that have none yet. Candidates
  // whose document was deleted meanwhile are dropped.
  base::Status load_documents(std::vector<Candidate>& candidates);

  // Stage-specific figures for the current stage's stats ("model", "tokens", ...).
  nlohmann::json& details() { return details_; }
  nlohmann::json take_details();

 private:
  const PipelineServices& services_;
  const PipelineLimits& limits_;
  std::vector<std::string> collection_ids_;
  bool at_start_ = true;
  nlohmann::json details_ = nlohmann::json::object();
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Turns the previous stage's candidates into this stage's. At the first
  // stage `input` is empty and context.at_start() is true.
  virtual base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const = 0;
};

// A stored document as stages see it.
std::shared_ptr<const LoadedDocument> load_document(const store::StoredDocument& document);

}  // namespace winnow::pipeline

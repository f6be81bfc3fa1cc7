// Validates and runs retriever pipelines: a JSON array of stages, each
// {"stage_type", "stage_id", "parameters"}, run in order on the previous
// stage's documents. Everything is checked before anything runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "pipeline/candidate.h"
#include "pipeline/stage.h"

namespace winnow::pipeline {

struct StageStats {
  std::size_t index = 0;
  std::string stage_id;
  StageType type = StageType::kFilter;
  std::size_t documents_in = 0;
  std::size_t documents_out = 0;
  double milliseconds = 0;
  nlohmann::json details;  // stage-specific: model, tokens, top_k, ...
};

struct PipelineRequest {
  std::vector<std::string> collection_ids;
  nlohmann::json stages;        // array
  nlohmann::json inputs;        // object; {{INPUT.name}} reads from it
  nlohmann::json input_schema;  // null, or see apply_input_schema
};

struct PipelineResult {
  std::vector<Candidate> documents;  // final order; documents loaded
  std::vector<StageStats> stages;
  double total_milliseconds = 0;
};

// Checks a pipeline definition before it is stored: stages known, stage_type
// matching stage_id, parameters well typed (templated ones are checked when
// the pipeline runs), templates well formed and naming inputs the schema has.
// Errors name the stage's index and the parameter.
base::Status validate_pipeline(const nlohmann::json& stages, const nlohmann::json& input_schema);

// Checks `inputs` against `input_schema` and fills in defaults. The schema is
// JSON Schema's object form ({"type": "object", "properties": {...},
// "required": [...]}) or the short form {"query": {"type": "string",
// "required": true, "default": ...}, ...}; types string, number, integer,
// boolean, array, object. A null schema accepts any inputs.
base::Result<nlohmann::json> apply_input_schema(const nlohmann::json& input_schema, const nlohmann::json& inputs);

// Validates everything, then runs the stages in order. Thread-safe if the
// services are.
base::Result<PipelineResult> execute_pipeline(const PipelineServices& services, const PipelineLimits& limits,
                                              const PipelineRequest& request);

// The response shape shared by the HTTP API and `winnow query`:
// {"documents": [{"document_id", "collection_id", "score", "original_score"?,
//   "rerank_position"?, "best_chunk"? ({"index", "chunks", "start", "end"}: a chunked
//   rerank's best window, in code points), "fields": {...}, "metadata": {...}}],
//  "stages": [{"stage_id", "stage_type", "documents_in", "documents_out", "ms", ...details}],
//  "total_ms"}. `return_fields`, when given, lists the text fields to return
// and "metadata" if metadata is wanted; otherwise everything is returned.
nlohmann::json pipeline_result_json(const PipelineResult& result,
                                    const std::optional<std::vector<std::string>>& return_fields);

}  // namespace winnow::pipeline

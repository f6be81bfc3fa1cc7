// The stages a pipeline may name, by stage_id.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "pipeline/params.h"
#include "pipeline/stage.h"

namespace winnow::pipeline {

struct StageDefinition {
  std::string stage_id;  // "rerank"
  StageType type;        // the stage_type a pipeline must give it
  // Parameter values used when a pipeline leaves them out, applied before
  // templates are filled (so a default may itself be a template).
  nlohmann::json template_defaults = nlohmann::json::object();
  // Parameters whose presence turns the template defaults off (semantic_search
  // takes a query text or a query_vector).
  std::vector<std::string> defaults_unless;
  // Reads and checks the parameters and builds the stage. Every parameter is
  // read (so unknown ones are reported) before the first error is returned.
  std::function<base::Result<std::unique_ptr<Stage>>(Params& params, const PipelineLimits& limits)> build;
};

// nullptr for an unknown stage_id.
const StageDefinition* find_stage_definition(std::string_view stage_id);

// Every stage, for error messages and documentation.
std::vector<std::string> stage_ids();

}  // namespace winnow::pipeline

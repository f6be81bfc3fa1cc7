#include "pipeline/stage_registry.h"

#include "pipeline/stages/hybrid_search_stage.h"
#include "pipeline/stages/limit_stage.h"
#include "pipeline/stages/rerank_stage.h"
#include "pipeline/stages/semantic_search_stage.h"
#include "pipeline/stages/sort_by_field_stage.h"
#include "pipeline/stages/structured_filter_stage.h"
#include "pipeline/stages/text_search_stage.h"

namespace winnow::pipeline {
namespace {

const std::vector<StageDefinition>& definitions() {
  static const std::vector<StageDefinition> all = {
      semantic_search_stage(), text_search_stage(), hybrid_search_stage(), structured_filter_stage(),
      rerank_stage(),          sort_by_field_stage(), limit_stage(),
  };
  return all;
}

}  // namespace

const StageDefinition* find_stage_definition(std::string_view stage_id) {
  for (const StageDefinition& d : definitions()) {
    if (d.stage_id == stage_id) return &d;
  }
  return nullptr;
}

std::vector<std::string> stage_ids() {
  std::vector<std::string> ids;
  for (const StageDefinition& d : definitions()) ids.push_back(d.stage_id);
  return ids;
}

}  // namespace winnow::pipeline

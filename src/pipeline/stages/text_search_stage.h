// text_search (filter): BM25 over the collections' text fields.
//   {"query": "{{INPUT.query}}", "top_k": 10}
#pragma once

#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition text_search_stage();

}  // namespace winnow::pipeline

// structured_filter (filter): keeps the documents whose fields satisfy the
// conditions (see conditions.h), in their input order with their scores.
//   {"conditions": {"field": "metadata.category", "operator": "eq", "value": "{{INPUT.category}}"}}
// As a first stage it scans the collections (up to PipelineLimits::max_filter_scan documents).
#pragma once

#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition structured_filter_stage();

}  // namespace winnow::pipeline

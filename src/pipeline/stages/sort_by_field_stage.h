// sort_by_field (sort): reorders by a field's value; documents without it last.
//   {"field": "metadata.year", "direction": "desc" | "asc"}
// Numbers sort numerically, strings by bytes; values of other kinds, or of a
// kind that differs from the first value seen, sort after them, before missing
// ones. The sort is stable. "score" sorts by the current score.
#pragma once

#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition sort_by_field_stage();

}  // namespace winnow::pipeline

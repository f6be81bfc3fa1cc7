// limit (reduce): keeps `limit` documents after skipping `offset`.
//   {"limit": 5, "offset": 0}
#pragma once

#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition limit_stage();

}  // namespace winnow::pipeline

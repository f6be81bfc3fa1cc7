// {{INPUT.name}} templates in stage parameters.
//
// A string that is exactly one template takes the input's JSON value with its
// type ("{{INPUT.top_k}}" with top_k = 5 becomes the number 5); a template
// inside a longer string is replaced by the input's text ("about {{INPUT.q}}").
// Objects and arrays are filled recursively.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::pipeline {

// Fills every template in `value` from `inputs`. A missing input is
// InvalidArgument naming it and `where` (e.g. "stages[1] (rerank) parameter query").
base::Result<nlohmann::json> fill_templates(const nlohmann::json& value, const nlohmann::json& inputs,
                                            const std::string& where);

// The input names `value` refers to, in order of appearance, without repeats.
// A malformed template ("{{INPUT.}}", "{{ query }}") is InvalidArgument.
base::Result<std::vector<std::string>> referenced_inputs(const nlohmann::json& value, const std::string& where);

// True when `value` contains a template anywhere.
bool has_templates(const nlohmann::json& value);

}  // namespace winnow::pipeline

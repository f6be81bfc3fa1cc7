// Typed access to a stage's "parameters" object, with errors that name the
// stage and the parameter: `stages[2] (rerank): parameter "top_n" must be an
// integer from 1 to 10000, got "ten"`.
//
// When a definition is validated before its inputs are known, a parameter
// whose value is still a {{INPUT.x}} template is accepted as any type and
// reads as the default (or a neutral placeholder): the check happens again,
// fully, when the retriever runs.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::pipeline {

class Params {
 public:
  // `where` prefixes every error, e.g. "stages[2] (rerank)".
  Params(const nlohmann::json& parameters, std::string where, bool templates_pending);

  base::Result<std::string> string(const std::string& name, std::optional<std::string> fallback = std::nullopt);
  base::Result<std::int64_t> integer(const std::string& name, std::optional<std::int64_t> fallback, std::int64_t min,
                                     std::int64_t max);
  base::Result<double> number(const std::string& name, std::optional<double> fallback, double min, double max);
  // A string or an array of strings, as a list; fallback when absent.
  base::Result<std::vector<std::string>> strings(const std::string& name, std::vector<std::string> fallback);
  // The raw JSON value; NotFound-style InvalidArgument when required and absent.
  base::Result<nlohmann::json> json(const std::string& name, bool required);
  bool has(const std::string& name) const;
  bool is_pending(const std::string& name) const;  // still a template (definition check only)

  // Error if the object has a key no accessor asked for (catches typos: "topk").
  base::Status check_no_unknown() const;

  base::Status error(const std::string& name, const std::string& message) const;
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json* find(const std::string& name);

  const nlohmann::json& parameters_;
  std::string where_;
  bool templates_pending_;
  std::set<std::string> seen_;
};

}  // namespace winnow::pipeline

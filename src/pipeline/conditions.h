// Boolean conditions over a document's fields, for structured_filter:
//   {"field": "metadata.year", "operator": "gte", "value": 2020}
//   {"AND": [c1, c2]}  {"OR": [c1, c2]}  {"NOT": c}
// Fields are dotted paths into the document ("metadata.category", "title").
// Operators: eq ne gt gte lt lte in nin contains exists.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::pipeline {

enum class Operator { kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNin, kContains, kExists };

// How deep AND / OR / NOT may nest (a leaf under 64 groups is the deepest).
inline constexpr std::size_t kMaxConditionDepth = 64;

class Condition {
 public:
  // Parses a condition tree. Errors name the JSON path of the bad node, below
  // `where` (e.g. "stages[1] (structured_filter) parameter conditions.AND[2]");
  // groups nested deeper than kMaxConditionDepth are InvalidArgument.
  static base::Result<Condition> parse(const nlohmann::json& spec, const std::string& where);

  // True when `document` satisfies the condition. A missing field satisfies
  // only ne, nin and exists:false; values of different types are never equal
  // and never ordered (numbers compare as numbers, strings lexicographically).
  bool matches(const nlohmann::json& document) const;

 private:
  static base::Result<Condition> parse_at(const nlohmann::json& spec, const std::string& where, std::size_t depth);

  enum class Kind { kLeaf, kAnd, kOr, kNot };
  Kind kind_ = Kind::kLeaf;
  std::vector<std::string> path_;  // leaf: the field, split at dots
  Operator op_ = Operator::kEq;
  nlohmann::json value_;
  std::vector<Condition> children_;  // and/or: the operands; not: one
};

// The value at a dotted path in `document`, or nullptr.
const nlohmann::json* field_at(const nlohmann::json& document, const std::vector<std::string>& path);

// "metadata.year" -> {"metadata", "year"}. Empty segments are InvalidArgument.
base::Result<std::vector<std::string>> split_field_path(const std::string& field, const std::string& where);

}  // namespace winnow::pipeline

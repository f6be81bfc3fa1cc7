#include "pipeline/conditions.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace winnow::pipeline {
namespace {

constexpr std::array<std::pair<const char*, Operator>, 10> kOperators = {{
    {"eq", Operator::kEq},
    {"ne", Operator::kNe},
    {"gt", Operator::kGt},
    {"gte", Operator::kGte},
    {"lt", Operator::kLt},
    {"lte", Operator::kLte},
    {"in", Operator::kIn},
    {"nin", Operator::kNin},
    {"contains", Operator::kContains},
    {"exists", Operator::kExists},
}};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool values_equal(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

// -1, 0, 1 when a and b are ordered; nullopt when they are not comparable.
std::optional<int> compare(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return std::nullopt;
}

bool contains(const nlohmann::json& field, const nlohmann::json& value) {
  if (field.is_string() && value.is_string()) {
    return field.get_ref<const std::string&>().find(value.get_ref<const std::string&>()) != std::string::npos;
  }
  if (field.is_array()) {
    return std::any_of(field.begin(), field.end(), [&](const nlohmann::json& item) { return values_equal(item, value); });
  }
  return false;
}

}  // namespace

base::Result<std::vector<std::string>> split_field_path(const std::string& field, const std::string& where) {
  std::vector<std::string> path;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = field.find('.', start);
    std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) return base::invalid_argument(where + ": field \"" + field + "\" is not a valid dotted path");
    path.push_back(std::move(part));
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

const nlohmann::json* field_at(const nlohmann::json& document, const std::vector<std::string>& path) {
  const nlohmann::json* node = &document;
  for (const std::string& key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

base::Result<Condition> Condition::parse(const nlohmann::json& spec, const std::string& where) {
  return parse_at(spec, where, 0);
}

base::Result<Condition> Condition::parse_at(const nlohmann::json& spec, const std::string& where,
                                            std::size_t depth) {
  if (!spec.is_object()) return base::invalid_argument(where + ": a condition must be an object");
  Condition c;
  for (const char* group : {"AND", "OR", "NOT", "and", "or", "not"}) {
    auto it = spec.find(group);
    if (it == spec.end()) continue;
    if (spec.size() != 1) {
      return base::invalid_argument(where + ": \"" + std::string(group) + "\" must be the condition's only key");
    }
    const std::string upper = lowercase(group) == "and" ? "AND" : lowercase(group) == "or" ? "OR" : "NOT";
    if (depth >= kMaxConditionDepth) {
      // `where` would name every level; the first few say where it starts.
      return base::invalid_argument(where.substr(0, 120) + "...: AND / OR / NOT nested deeper than " +
                                    std::to_string(kMaxConditionDepth) + " levels");
    }
    if (upper == "NOT") {
      c.kind_ = Kind::kNot;
      WINNOW_ASSIGN_OR_RETURN(Condition child, parse_at(*it, where + "." + group, depth + 1));
      c.children_.push_back(std::move(child));
      return c;
    }
    c.kind_ = upper == "AND" ? Kind::kAnd : Kind::kOr;
    if (!it->is_array() || it->empty()) {
      return base::invalid_argument(where + "." + group + ": must be a non-empty array of conditions");
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
      WINNOW_ASSIGN_OR_RETURN(Condition child,
                              parse_at((*it)[i], where + "." + group + "[" + std::to_string(i) + "]", depth + 1));
      c.children_.push_back(std::move(child));
    }
    return c;
  }

  for (const auto& extra : spec.items()) {
    if (extra.key() != "field" && extra.key() != "operator" && extra.key() != "value") {
      return base::invalid_argument(where + ": unknown key \"" + extra.key() + "\"");
    }
  }
  auto field = spec.find("field");
  if (field == spec.end() || !field->is_string()) {
    return base::invalid_argument(where + ": needs a string \"field\" (or AND / OR / NOT)");
  }
  WINNOW_ASSIGN_OR_RETURN(c.path_, split_field_path(field->get<std::string>(), where + ".field"));
  auto op = spec.find("operator");
  if (op == spec.end() || !op->is_string()) return base::invalid_argument(where + ": needs a string \"operator\"");
  const std::string op_name = lowercase(op->get<std::string>());
  auto known = std::find_if(kOperators.begin(), kOperators.end(), [&](const auto& p) { return op_name == p.first; });
  if (known == kOperators.end()) {
    return base::invalid_argument(where + ".operator: unknown operator \"" + op->get<std::string>() +
                                  "\" (eq, ne, gt, gte, lt, lte, in, nin, contains, exists)");
  }
  c.op_ = known->second;
  auto value = spec.find("value");
  if (c.op_ == Operator::kExists) {
    c.value_ = value == spec.end() ? nlohmann::json(true) : *value;
    if (!c.value_.is_boolean()) return base::invalid_argument(where + ".value: exists takes true or false");
    return c;
  }
  if (value == spec.end()) return base::invalid_argument(where + ": operator " + op_name + " needs a \"value\"");
  c.value_ = *value;
  if ((c.op_ == Operator::kIn || c.op_ == Operator::kNin) && !c.value_.is_array()) {
    return base::invalid_argument(where + ".value: operator " + op_name + " needs an array");
  }
  if ((c.op_ == Operator::kGt || c.op_ == Operator::kGte || c.op_ == Operator::kLt || c.op_ == Operator::kLte) &&
      !c.value_.is_number() && !c.value_.is_string()) {
    return base::invalid_argument(where + ".value: operator " + op_name + " needs a number or a string");
  }
  return c;
}

bool Condition::matches(const nlohmann::json& document) const {
  switch (kind_) {
    case Kind::kAnd:
      return std::all_of(children_.begin(), children_.end(), [&](const Condition& c) { return c.matches(document); });
    case Kind::kOr:
      return std::any_of(children_.begin(), children_.end(), [&](const Condition& c) { return c.matches(document); });
    case Kind::kNot:
      return !children_[0].matches(document);
    case Kind::kLeaf:
      break;
  }
  const nlohmann::json* field = field_at(document, path_);
  const bool present = field != nullptr && !field->is_null();
  switch (op_) {
    case Operator::kExists:
      return present == value_.get<bool>();
    case Operator::kEq:
      return present && values_equal(*field, value_);
    case Operator::kNe:
      return !present || !values_equal(*field, value_);
    case Operator::kIn:
      return present &&
             std::any_of(value_.begin(), value_.end(), [&](const nlohmann::json& v) { return values_equal(*field, v); });
    case Operator::kNin:
      return !present ||
             std::none_of(value_.begin(), value_.end(), [&](const nlohmann::json& v) { return values_equal(*field, v); });
    case Operator::kContains:
      return present && contains(*field, value_);
    case Operator::kGt:
    case Operator::kGte:
    case Operator::kLt:
    case Operator::kLte: {
      if (!present) return false;
      std::optional<int> c = compare(*field, value_);
      if (!c) return false;
      if (op_ == Operator::kGt) return *c > 0;
      if (op_ == Operator::kGte) return *c >= 0;
      if (op_ == Operator::kLt) return *c < 0;
      return *c <= 0;
    }
  }
  return false;
}

}  // namespace winnow::pipeline

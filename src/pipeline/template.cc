#include "pipeline/template.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace winnow::pipeline {
namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
constexpr std::string_view kPrefix = "INPUT.";

struct Reference {
  std::size_t begin = 0;  // offset of "{{"
  std::size_t end = 0;    // offset just past "}}"
  std::string name;
};

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// Every {{...}} in `s`. Whitespace inside the braces is allowed: {{ INPUT.q }}.
base::Result<std::vector<Reference>> find_references(std::string_view s, const std::string& where) {
  std::vector<Reference> refs;
  std::size_t pos = 0;
  while ((pos = s.find(kOpen, pos)) != std::string_view::npos) {
    std::size_t close = s.find(kClose, pos + kOpen.size());
    if (close == std::string_view::npos) {
      return base::invalid_argument(where + ": unclosed template \"" + std::string(s.substr(pos)) + "\"");
    }
    std::string_view inner = s.substr(pos + kOpen.size(), close - pos - kOpen.size());
    while (!inner.empty() && std::isspace(static_cast<unsigned char>(inner.front()))) inner.remove_prefix(1);
    while (!inner.empty() && std::isspace(static_cast<unsigned char>(inner.back()))) inner.remove_suffix(1);
    if (inner.substr(0, kPrefix.size()) != kPrefix || !valid_name(inner.substr(kPrefix.size()))) {
      return base::invalid_argument(where + ": template \"" + std::string(s.substr(pos, close + 2 - pos)) +
                                    "\" must have the form {{INPUT.name}}");
    }
    refs.push_back({pos, close + kClose.size(), std::string(inner.substr(kPrefix.size()))});
    pos = close + kClose.size();
  }
  return refs;
}

// inputs["a.b"] for dotted names: nested objects first, a literal key as fallback.
const nlohmann::json* lookup(const nlohmann::json& inputs, const std::string& name) {
  if (!inputs.is_object()) return nullptr;
  if (auto it = inputs.find(name); it != inputs.end()) return &*it;
  const nlohmann::json* node = &inputs;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    std::string key = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
  return nullptr;
}

base::Result<nlohmann::json> fill_string(const std::string& s, const nlohmann::json& inputs, const std::string& where) {
  WINNOW_ASSIGN_OR_RETURN(std::vector<Reference> refs, find_references(s, where));
  if (refs.empty()) return nlohmann::json(s);
  for (const Reference& ref : refs) {
    if (lookup(inputs, ref.name) == nullptr) {
      return base::invalid_argument(where + ": missing input \"" + ref.name + "\" (used as {{INPUT." + ref.name +
                                    "}})");
    }
  }
  if (refs.size() == 1 && refs[0].begin == 0 && refs[0].end == s.size()) return *lookup(inputs, refs[0].name);
  std::string out;
  std::size_t last = 0;
  for (const Reference& ref : refs) {
    out.append(s, last, ref.begin - last);
    const nlohmann::json& value = *lookup(inputs, ref.name);
    out += value.is_string() ? value.get<std::string>() : value.dump();
    last = ref.end;
  }
  out.append(s, last, std::string::npos);
  return nlohmann::json(std::move(out));
}

}  // namespace

base::Result<nlohmann::json> fill_templates(const nlohmann::json& value, const nlohmann::json& inputs,
                                            const std::string& where) {
  if (value.is_string()) return fill_string(value.get<std::string>(), inputs, where);
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < value.size(); ++i) {
      WINNOW_ASSIGN_OR_RETURN(nlohmann::json item,
                              fill_templates(value[i], inputs, where + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(item));
    }
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      WINNOW_ASSIGN_OR_RETURN(nlohmann::json item, fill_templates(it.value(), inputs, where + "." + it.key()));
      out[it.key()] = std::move(item);
    }
    return out;
  }
  return value;
}

base::Result<std::vector<std::string>> referenced_inputs(const nlohmann::json& value, const std::string& where) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  if (value.is_string()) {
    WINNOW_ASSIGN_OR_RETURN(std::vector<Reference> refs, find_references(value.get<std::string>(), where));
    for (const Reference& ref : refs) add(ref.name);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> inner,
                              referenced_inputs(value[i], where + "[" + std::to_string(i) + "]"));
      for (const std::string& name : inner) add(name);
    }
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> inner, referenced_inputs(it.value(), where + "." + it.key()));
      for (const std::string& name : inner) add(name);
    }
  }
  return names;
}

bool has_templates(const nlohmann::json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().find(kOpen) != std::string::npos;
  if (value.is_array() || value.is_object()) {
    for (const auto& item : value) {
      if (has_templates(item)) return true;
    }
  }
  return false;
}

}  // namespace winnow::pipeline

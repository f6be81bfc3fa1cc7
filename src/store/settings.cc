#include "store/settings.h"

#include <cmath>
#include <set>

#include "store/ids.h"

namespace winnow::store {

using base::Result;
using base::Status;
using nlohmann::json;

std::string_view metric_name(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kInnerProduct: return "ip";
    case Metric::kL2: return "l2";
  }
  return "cosine";
}

std::string_view stopwords_name(Stopwords stopwords) {
  switch (stopwords) {
    case Stopwords::kEnglish: return "english";
    case Stopwords::kEnglishQueryOnly: return "english_query_only";
    case Stopwords::kNone: return "none";
  }
  return "english";
}

json VectorIndexSpec::to_json() const {
  json out = {{"name", name}, {"metric", metric_name(metric)}};
  if (!model.empty()) out["model"] = model;
  if (!field.empty()) out["field"] = field;
  if (dimensions) out["dimensions"] = *dimensions;
  return out;
}

json Bm25Settings::to_json() const {
  return {{"k1", k1}, {"b", b}, {"stopwords", stopwords_name(stopwords)}};
}

const VectorIndexSpec* CollectionSettings::find_index(std::string_view name) const {
  for (const auto& spec : vector_indexes) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

VectorIndexSpec* CollectionSettings::find_index(std::string_view name) {
  for (auto& spec : vector_indexes) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

json CollectionSettings::to_json() const {
  json indexes = json::array();
  for (const auto& spec : vector_indexes) indexes.push_back(spec.to_json());
  json out = {{"vector_indexes", indexes}, {"bm25", bm25.to_json()}};
  if (!text_fields.empty()) out["text_fields"] = text_fields;
  return out;
}

namespace {

Status check_keys(const json& object, std::string_view where, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (auto k : known) found = found || key == k;
    if (!found) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return base::invalid_argument(std::string(where) + ": unknown key '" + key + "' (expected " + list + ")");
    }
  }
  return {};
}

Result<std::string> string_member(const json& object, std::string_view where, const char* key) {
  if (!object.contains(key)) return std::string();
  const json& value = object.at(key);
  if (!value.is_string()) {
    return base::invalid_argument(std::string(where) + "." + key + " must be a string, got " + value.type_name());
  }
  return value.get<std::string>();
}

Result<VectorIndexSpec> parse_index_spec(const json& value, std::size_t position) {
  std::string where = "vector_indexes[" + std::to_string(position) + "]";
  if (!value.is_object()) return base::invalid_argument(where + " must be an object, got " + value.type_name());
  WINNOW_RETURN_IF_ERROR(check_keys(value, where, {"name", "model", "field", "dimensions", "metric"}));
  VectorIndexSpec spec;
  if (!value.contains("name")) return base::invalid_argument(where + ": missing 'name'");
  WINNOW_ASSIGN_OR_RETURN(spec.name, string_member(value, where, "name"));
  WINNOW_RETURN_IF_ERROR(validate_id(spec.name, where + ".name"));
  where = "vector index '" + spec.name + "'";
  WINNOW_ASSIGN_OR_RETURN(spec.model, string_member(value, where, "model"));
  WINNOW_ASSIGN_OR_RETURN(spec.field, string_member(value, where, "field"));
  if (!spec.model.empty() && spec.field.empty()) {
    return base::invalid_argument(where + ": a model needs 'field', the text field to embed");
  }
  if (value.contains("dimensions") && !value.at("dimensions").is_null()) {
    const json& dims = value.at("dimensions");
    if (!dims.is_number_integer() || dims.get<std::int64_t>() < 1 || dims.get<std::int64_t>() > 65536) {
      return base::invalid_argument(where + ": dimensions must be an integer from 1 to 65536, got " + dims.dump());
    }
    spec.dimensions = dims.get<std::int64_t>();
  }
  WINNOW_ASSIGN_OR_RETURN(std::string metric, string_member(value, where, "metric"));
  if (metric.empty() || metric == "cosine") {
    spec.metric = Metric::kCosine;
  } else if (metric == "ip") {
    spec.metric = Metric::kInnerProduct;
  } else if (metric == "l2") {
    spec.metric = Metric::kL2;
  } else {
    return base::invalid_argument(where + ": unknown metric '" + metric + "' (expected cosine, ip or l2)");
  }
  return spec;
}

Result<Bm25Settings> parse_bm25(const json& value) {
  if (!value.is_object()) return base::invalid_argument(std::string("bm25 must be an object, got ") + value.type_name());
  WINNOW_RETURN_IF_ERROR(check_keys(value, "bm25", {"k1", "b", "stopwords"}));
  Bm25Settings bm25;
  if (value.contains("k1")) {
    const json& k1 = value.at("k1");
    if (!k1.is_number() || !(k1.get<double>() >= 0) || !std::isfinite(k1.get<double>())) {
      return base::invalid_argument("bm25.k1 must be a number >= 0, got " + k1.dump());
    }
    bm25.k1 = k1.get<double>();
  }
  if (value.contains("b")) {
    const json& b = value.at("b");
    if (!b.is_number() || !(b.get<double>() >= 0 && b.get<double>() <= 1)) {
      return base::invalid_argument("bm25.b must be a number from 0 to 1, got " + b.dump());
    }
    bm25.b = b.get<double>();
  }
  WINNOW_ASSIGN_OR_RETURN(std::string stopwords, string_member(value, "bm25", "stopwords"));
  if (stopwords.empty() || stopwords == "english") {
    bm25.stopwords = Stopwords::kEnglish;
  } else if (stopwords == "english_query_only") {
    bm25.stopwords = Stopwords::kEnglishQueryOnly;
  } else if (stopwords == "none") {
    bm25.stopwords = Stopwords::kNone;
  } else {
    return base::invalid_argument("bm25.stopwords: unknown value '" + stopwords +
                                  "' (expected english, english_query_only or none)");
  }
  return bm25;
}

}  // namespace

Result<CollectionSettings> parse_collection_settings(const json& value) {
  CollectionSettings settings;
  if (value.is_null()) return settings;
  if (!value.is_object()) {
    return base::invalid_argument(std::string("collection settings must be an object, got ") + value.type_name());
  }
  WINNOW_RETURN_IF_ERROR(check_keys(value, "collection settings", {"text_fields", "vector_indexes", "bm25"}));
  if (value.contains("text_fields")) {
    const json& fields = value.at("text_fields");
    if (!fields.is_array()) return base::invalid_argument("text_fields must be an array of field names");
    std::set<std::string> seen;
    for (const auto& field : fields) {
      if (!field.is_string() || field.get<std::string>().empty()) {
        return base::invalid_argument("text_fields must hold non-empty strings, got " + field.dump());
      }
      std::string name = field.get<std::string>();
      if (name == "id" || name == "metadata" || name == "vectors") {
        return base::invalid_argument("text_fields: '" + name + "' is reserved and cannot be a text field");
      }
      if (!seen.insert(name).second) return base::invalid_argument("text_fields: '" + name + "' is listed twice");
      settings.text_fields.push_back(std::move(name));
    }
  }
  if (value.contains("vector_indexes")) {
    const json& indexes = value.at("vector_indexes");
    if (!indexes.is_array()) return base::invalid_argument("vector_indexes must be an array");
    for (std::size_t i = 0; i < indexes.size(); ++i) {
      WINNOW_ASSIGN_OR_RETURN(VectorIndexSpec spec, parse_index_spec(indexes[i], i));
      if (settings.find_index(spec.name) != nullptr) {
        return base::invalid_argument("vector index '" + spec.name + "' is defined twice");
      }
      settings.vector_indexes.push_back(std::move(spec));
    }
  }
  if (value.contains("bm25")) {
    WINNOW_ASSIGN_OR_RETURN(settings.bm25, parse_bm25(value.at("bm25")));
  }
  return settings;
}

}  // namespace winnow::store

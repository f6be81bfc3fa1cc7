#include "pipeline/executor.h"

#include <algorithm>

#include "base/stopwatch.h"
#include "pipeline/params.h"
#include "pipeline/stage_registry.h"
#include "pipeline/template.h"

namespace winnow::pipeline {
namespace {

constexpr std::size_t kMaxStages = 32;

struct ParsedStage {
  const StageDefinition* definition = nullptr;
  nlohmann::json parameters;  // template defaults applied
  std::string where;          // "stages[2] (rerank)"
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

base::Result<std::vector<ParsedStage>> parse_stages(const nlohmann::json& stages) {
  if (!stages.is_array() || stages.empty()) {
    return base::invalid_argument("stages: must be a non-empty array of stages");
  }
  if (stages.size() > kMaxStages) {
    return base::invalid_argument("stages: " + std::to_string(stages.size()) + " stages, more than the maximum of " +
                                  std::to_string(kMaxStages));
  }
  std::vector<ParsedStage> parsed;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const nlohmann::json& stage = stages[i];
    std::string where = "stages[" + std::to_string(i) + "]";
    if (!stage.is_object()) return base::invalid_argument(where + ": must be an object");
    for (auto it = stage.begin(); it != stage.end(); ++it) {
      if (it.key() != "stage_type" && it.key() != "stage_id" && it.key() != "parameters" && it.key() != "description") {
        return base::invalid_argument(where + ": unknown key \"" + it.key() +
                                      "\" (stage_type, stage_id, parameters, description)");
      }
    }
    auto id = stage.find("stage_id");
    if (id == stage.end() || !id->is_string()) return base::invalid_argument(where + ": needs a string \"stage_id\"");
    const StageDefinition* definition = find_stage_definition(id->get<std::string>());
    if (definition == nullptr) {
      return base::invalid_argument(where + ": unknown stage_id \"" + id->get<std::string>() + "\" (known: " +
                                    join(stage_ids()) + ")");
    }
    where += " (" + definition->stage_id + ")";
    auto type = stage.find("stage_type");
    if (type == stage.end() || !type->is_string()) {
      return base::invalid_argument(where + ": needs a string \"stage_type\" (\"" +
                                    std::string(stage_type_name(definition->type)) + "\" for " +
                                    definition->stage_id + ")");
    }
    if (type->get<std::string>() != stage_type_name(definition->type)) {
      return base::invalid_argument(where + ": stage_type \"" + type->get<std::string>() + "\" does not match " +
                                    definition->stage_id + ", which is a \"" +
                                    std::string(stage_type_name(definition->type)) + "\" stage");
    }
    nlohmann::json parameters = nlohmann::json::object();
    if (auto p = stage.find("parameters"); p != stage.end() && !p->is_null()) {
      if (!p->is_object()) return base::invalid_argument(where + ": \"parameters\" must be an object");
      parameters = *p;
    }
    const bool defaults_off = std::any_of(definition->defaults_unless.begin(), definition->defaults_unless.end(),
                                          [&](const std::string& key) { return parameters.contains(key); });
    if (!defaults_off) {
      for (auto it = definition->template_defaults.begin(); it != definition->template_defaults.end(); ++it) {
        if (!parameters.contains(it.key())) parameters[it.key()] = it.value();
      }
    }
    parsed.push_back({definition, std::move(parameters), std::move(where)});
  }
  return parsed;
}

struct InputSpec {
  std::string name;
  std::string type;  // empty: any
  bool required = false;
  nlohmann::json fallback;  // null: none
};

bool has_type(const nlohmann::json& value, const std::string& type) {
  if (type.empty()) return true;
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") return value.is_number_integer() || value.is_number_unsigned();
  if (type == "boolean") return value.is_boolean();
  if (type == "array") return value.is_array();
  return value.is_object();
}

base::Result<std::vector<InputSpec>> parse_input_schema(const nlohmann::json& schema) {
  std::vector<InputSpec> specs;
  if (schema.is_null()) return specs;
  if (!schema.is_object()) return base::invalid_argument("input_schema: must be an object");
  static const std::vector<std::string> kTypes = {"string", "number", "integer", "boolean", "array", "object"};
  const bool json_schema_form = schema.contains("properties");
  const nlohmann::json& properties = json_schema_form ? schema["properties"] : schema;
  if (!properties.is_object()) return base::invalid_argument("input_schema.properties: must be an object");
  std::vector<std::string> required_list;
  if (json_schema_form && schema.contains("required")) {
    if (!schema["required"].is_array()) return base::invalid_argument("input_schema.required: must be an array");
    for (const auto& r : schema["required"]) {
      if (!r.is_string()) return base::invalid_argument("input_schema.required: must list input names");
      required_list.push_back(r.get<std::string>());
    }
  }
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    const std::string where = "input_schema." + it.key();
    if (json_schema_form && (it.key() == "type" || it.key() == "required")) continue;
    if (!it->is_object()) return base::invalid_argument(where + ": must be an object like {\"type\": \"string\"}");
    InputSpec spec;
    spec.name = it.key();
    if (auto t = it->find("type"); t != it->end()) {
      if (!t->is_string() || std::find(kTypes.begin(), kTypes.end(), t->get<std::string>()) == kTypes.end()) {
        return base::invalid_argument(where + ".type: must be one of " + join(kTypes));
      }
      spec.type = t->get<std::string>();
    }
    if (auto r = it->find("required"); r != it->end()) {
      if (!r->is_boolean()) return base::invalid_argument(where + ".required: must be true or false");
      spec.required = r->get<bool>();
    }
    if (std::find(required_list.begin(), required_list.end(), spec.name) != required_list.end()) spec.required = true;
    if (auto d = it->find("default"); d != it->end()) spec.fallback = *d;
    if (!spec.fallback.is_null() && !has_type(spec.fallback, spec.type)) {
      return base::invalid_argument(where + ".default: " + spec.fallback.dump() + " is not of its type, " + spec.type);
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace

base::Result<nlohmann::json> apply_input_schema(const nlohmann::json& input_schema, const nlohmann::json& inputs) {
  if (!inputs.is_null() && !inputs.is_object()) return base::invalid_argument("inputs: must be an object");
  nlohmann::json filled = inputs.is_null() ? nlohmann::json::object() : inputs;
  WINNOW_ASSIGN_OR_RETURN(std::vector<InputSpec> specs, parse_input_schema(input_schema));
  for (const InputSpec& spec : specs) {
    if (!filled.contains(spec.name)) {
      if (!spec.fallback.is_null()) {
        filled[spec.name] = spec.fallback;
      } else if (spec.required) {
        return base::invalid_argument("inputs: missing required input \"" + spec.name + "\"");
      }
      continue;
    }
    if (!has_type(filled[spec.name], spec.type)) {
      return base::invalid_argument("inputs." + spec.name + ": must be " +
                                    (spec.type == "integer" || spec.type == "array" || spec.type == "object"
                                         ? "an "
                                         : "a ") +
                                    spec.type + ", got " + filled[spec.name].dump());
    }
  }
  return filled;
}

base::Status validate_pipeline(const nlohmann::json& stages, const nlohmann::json& input_schema) {
  WINNOW_ASSIGN_OR_RETURN(std::vector<ParsedStage> parsed, parse_stages(stages));
  WINNOW_ASSIGN_OR_RETURN(std::vector<InputSpec> specs, parse_input_schema(input_schema));
  const PipelineLimits limits;
  for (const ParsedStage& stage : parsed) {
    WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            referenced_inputs(stage.parameters, stage.where + " parameters"));
    if (!input_schema.is_null()) {
      for (const std::string& name : names) {
        std::string root = name.substr(0, name.find('.'));
        bool declared = std::any_of(specs.begin(), specs.end(), [&](const InputSpec& s) { return s.name == root; });
        if (!declared) {
          return base::invalid_argument(stage.where + ": uses {{INPUT." + name + "}} but input_schema has no \"" +
                                        root + "\"");
        }
      }
    }
    Params params(stage.parameters, stage.where, /*templates_pending=*/true);
    WINNOW_RETURN_IF_ERROR(stage.definition->build(params, limits).status());
  }
  return {};
}

base::Result<PipelineResult> execute_pipeline(const PipelineServices& services, const PipelineLimits& limits,
                                              const PipelineRequest& request) {
  base::Stopwatch total;
  if (request.collection_ids.empty()) return base::invalid_argument("collection_ids: name at least one collection");
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json inputs, apply_input_schema(request.input_schema, request.inputs));
  WINNOW_ASSIGN_OR_RETURN(std::vector<ParsedStage> parsed, parse_stages(request.stages));

  std::vector<std::unique_ptr<Stage>> stages;
  for (const ParsedStage& stage : parsed) {
    WINNOW_ASSIGN_OR_RETURN(nlohmann::json parameters,
                            fill_templates(stage.parameters, inputs, stage.where + " parameters"));
    Params params(parameters, stage.where, /*templates_pending=*/false);
    WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<Stage> built, stage.definition->build(params, limits));
    stages.push_back(std::move(built));
  }

  PipelineResult result;
  StageContext context(services, limits, request.collection_ids);
  std::vector<Candidate> documents;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    StageStats stats;
    stats.index = i;
    stats.stage_id = parsed[i].definition->stage_id;
    stats.type = parsed[i].definition->type;
    stats.documents_in = documents.size();
    base::Stopwatch stopwatch;
    auto out = stages[i]->run(std::move(documents), context);
    if (!out.ok()) return out.status().with_context(parsed[i].where);
    documents = std::move(out).value();
    context.mark_started();
    stats.documents_out = documents.size();
    stats.milliseconds = stopwatch.elapsed_ms();
    stats.details = context.take_details();
    result.stages.push_back(std::move(stats));
  }
  WINNOW_RETURN_IF_ERROR(context.load_documents(documents));
  result.documents = std::move(documents);
  result.total_milliseconds = total.elapsed_ms();
  return result;
}

nlohmann::json pipeline_result_json(const PipelineResult& result,
                                    const std::optional<std::vector<std::string>>& return_fields) {
  auto wanted = [&](const std::string& name) {
    return !return_fields || std::find(return_fields->begin(), return_fields->end(), name) != return_fields->end();
  };
  nlohmann::json documents = nlohmann::json::array();
  for (const Candidate& c : result.documents) {
    nlohmann::json d;
    d["document_id"] = c.document_id;
    d["collection_id"] = c.collection_id;
    d["score"] = c.score;
    if (c.original_score) d["original_score"] = *c.original_score;
    if (c.rerank_position) d["rerank_position"] = *c.rerank_position;
    if (c.document) {
      nlohmann::json fields = nlohmann::json::object();
      for (const auto& [name, text] : c.document->text_fields) {
        if (wanted(name)) fields[name] = text;
      }
      d["fields"] = std::move(fields);
      if (wanted("metadata")) d["metadata"] = c.document->metadata;
    }
    documents.push_back(std::move(d));
  }
  nlohmann::json stages = nlohmann::json::array();
  for (const StageStats& s : result.stages) {
    nlohmann::json stage = s.details.is_object() ? s.details : nlohmann::json::object();
    stage["index"] = s.index;
    stage["stage_id"] = s.stage_id;
    stage["stage_type"] = stage_type_name(s.type);
    stage["documents_in"] = s.documents_in;
    stage["documents_out"] = s.documents_out;
    stage["ms"] = s.milliseconds;
    stages.push_back(std::move(stage));
  }
  return {{"documents", std::move(documents)}, {"stages", std::move(stages)}, {"total_ms", result.total_milliseconds}};
}

}  // namespace winnow::pipeline

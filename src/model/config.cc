#include "model/config.h"

#include "base/files.h"

namespace winnow::model {

namespace {

// Reads optional keys of one JSON object, recording the first type error.
class Reader {
 public:
  Reader(const nlohmann::json& json, const std::string& source) : json_(json), source_(source) {}

  const nlohmann::json* get(const char* key) const {
    auto it = json_.find(key);
    return it == json_.end() || it->is_null() ? nullptr : &*it;
  }

  void size(const char* key, std::size_t& out, bool required) {
    const nlohmann::json* v = get(key);
    if (v == nullptr) {
      if (required) fail(std::string("missing \"") + key + "\"");
      return;
    }
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0) {
      fail(std::string("\"") + key + "\" must be a non-negative integer, got " + v->dump());
      return;
    }
    out = static_cast<std::size_t>(v->get<std::int64_t>());
  }

  void int32(const char* key, std::int32_t& out) {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return;
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0 || v->get<std::int64_t>() > INT32_MAX) {
      fail(std::string("\"") + key + "\" must be a non-negative integer, got " + v->dump());
      return;
    }
    out = static_cast<std::int32_t>(v->get<std::int64_t>());
  }

  void number(const char* key, float& out) {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return;
    if (!v->is_number()) {
      fail(std::string("\"") + key + "\" must be a number, got " + v->dump());
      return;
    }
    out = static_cast<float>(v->get<double>());
  }

  void boolean(const char* key, bool& out) {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return;
    if (!v->is_boolean()) {
      fail(std::string("\"") + key + "\" must be true or false, got " + v->dump());
      return;
    }
    out = v->get<bool>();
  }

  void real(const char* key, double& out) {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return;
    if (!v->is_number()) {
      fail(std::string("\"") + key + "\" must be a number, got " + v->dump());
      return;
    }
    out = v->get<double>();
  }

  void string(const char* key, std::string& out) {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return;
    if (!v->is_string()) {
      fail(std::string("\"") + key + "\" must be a string, got " + v->dump());
      return;
    }
    out = v->get<std::string>();
  }

  void optional_string(const char* key, std::optional<std::string>& out) {
    if (get(key) == nullptr) return;
    std::string value;
    string(key, value);
    out = value;
  }

  void fail(std::string message) {
    if (status_.ok()) status_ = base::invalid_argument(source_ + ": " + message);
  }
  const base::Status& status() const { return status_; }

 private:
  const nlohmann::json& json_;
  const std::string& source_;
  base::Status status_;
};

}  // namespace

base::Result<ModelConfig> parse_model_config(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) return base::invalid_argument(source + ": expected a JSON object");
  ModelConfig config;
  Reader reader(json, source);

  if (const nlohmann::json* archs = reader.get("architectures")) {
    if (!archs->is_array()) {
      reader.fail("\"architectures\" must be a list of class names");
    } else {
      for (const auto& a : *archs) {
        if (a.is_string()) config.architectures.push_back(a.get<std::string>());
        else reader.fail("\"architectures\" must be a list of class names");
      }
    }
  }
  reader.optional_string("model_type", config.model_type);
  if (const nlohmann::json* auto_map = reader.get("auto_map")) {
    if (auto_map->is_object()) {
      for (const auto& [key, value] : auto_map->items()) {
        if (value.is_string()) config.auto_map[key] = value.get<std::string>();
      }
    }
  }
  reader.size("hidden_size", config.hidden_size, true);
  reader.size("num_hidden_layers", config.num_hidden_layers, true);
  reader.size("num_attention_heads", config.num_attention_heads, true);
  reader.size("intermediate_size", config.intermediate_size, true);
  reader.size("vocab_size", config.vocab_size, true);
  reader.size("max_position_embeddings", config.max_position_embeddings, true);
  reader.size("type_vocab_size", config.type_vocab_size, false);
  reader.string("hidden_act", config.hidden_act);
  reader.number("layer_norm_eps", config.layer_norm_eps);
  reader.string("position_embedding_type", config.position_embedding_type);
  reader.optional_string("torch_dtype", config.torch_dtype);
  reader.optional_string("sbert_ce_default_activation_function", config.sbert_ce_default_activation_function);

  if (config.is_modernbert()) {
    reader.string("hidden_activation", config.hidden_act);
    reader.number("norm_eps", config.layer_norm_eps);
    reader.size("global_attn_every_n_layers", config.global_attn_every_n_layers, false);
    reader.size("local_attention", config.local_attention, false);
    reader.real("global_rope_theta", config.global_rope_theta);
    reader.real("local_rope_theta", config.local_rope_theta);
    reader.boolean("norm_bias", config.norm_bias);
    reader.boolean("attention_bias", config.attention_bias);
    reader.boolean("mlp_bias", config.mlp_bias);
    reader.boolean("classifier_bias", config.classifier_bias);
    reader.string("classifier_pooling", config.classifier_pooling);
    reader.string("classifier_activation", config.classifier_activation);
  }

  if (config.is_qwen3()) {
    config.hidden_act = "silu";  // transformers' Qwen3Config default
    config.layer_norm_eps = 1e-6f;
    reader.string("hidden_act", config.hidden_act);
    reader.number("rms_norm_eps", config.layer_norm_eps);
    reader.size("num_key_value_heads", config.num_key_value_heads, false);
    reader.size("head_dim", config.head_dim, false);
    reader.real("rope_theta", config.rope_theta);
    reader.boolean("tie_word_embeddings", config.tie_word_embeddings);
    reader.boolean("attention_bias", config.attention_bias);
    reader.boolean("use_sliding_window", config.use_sliding_window);
    config.rope_scaling = reader.get("rope_scaling") != nullptr;
  }

  const bool roberta_like =
      (config.model_type && (*config.model_type == "xlm-roberta" || *config.model_type == "roberta")) ||
      config.architecture().find("Roberta") != std::string::npos;
  config.pad_token_id = roberta_like ? 1 : 0;
  reader.int32("pad_token_id", config.pad_token_id);

  if (const nlohmann::json* id2label = reader.get("id2label"); id2label != nullptr && id2label->is_object() &&
                                                               !id2label->empty()) {
    config.num_labels = id2label->size();
  } else {
    reader.size("num_labels", config.num_labels, false);
  }
  WINNOW_RETURN_IF_ERROR(reader.status());

  auto invalid = [&](const std::string& message) { return base::invalid_argument(source + ": " + message); };
  if (config.hidden_size == 0 || config.num_hidden_layers == 0 || config.num_attention_heads == 0 ||
      config.intermediate_size == 0 || config.vocab_size == 0 || config.max_position_embeddings == 0 ||
      config.type_vocab_size == 0) {
    return invalid("hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size, "
                   "max_position_embeddings and type_vocab_size must all be positive");
  }
  if (config.is_qwen3()) {
    // Qwen3's attention width (heads · head_dim) need not be hidden_size.
    if (config.num_key_value_heads == 0) config.num_key_value_heads = config.num_attention_heads;
    if (config.head_dim == 0) config.head_dim = config.hidden_size / config.num_attention_heads;
    if (config.hidden_act != "silu") {
      return base::unimplemented(source + ": hidden_act \"" + config.hidden_act +
                                 "\" is not supported for qwen3 (only \"silu\", the SwiGLU feed-forward)");
    }
    if (config.num_attention_heads % config.num_key_value_heads != 0) {
      return invalid("num_attention_heads " + std::to_string(config.num_attention_heads) +
                     " is not a multiple of num_key_value_heads " + std::to_string(config.num_key_value_heads));
    }
    if (config.head_dim == 0 || config.head_dim % 2 != 0) {
      return invalid("head_dim " + std::to_string(config.head_dim) + " must be even and positive (rotary embeddings)");
    }
    if (!(config.rope_theta > 0.0)) return invalid("rope_theta must be positive");
    if (config.rope_scaling) {
      return base::unimplemented(source + ": rope_scaling is set; only the default rotary embeddings (rope_scaling "
                                 "null) are supported");
    }
    if (config.use_sliding_window) {
      return base::unimplemented(source + ": use_sliding_window true is not supported for qwen3 (every layer "
                                 "attends causally to the whole prompt)");
    }
    if (!(config.layer_norm_eps > 0.0f)) return invalid("rms_norm_eps must be positive");
    return config;
  }
  if (config.hidden_size % config.num_attention_heads != 0) {
    return invalid("hidden_size " + std::to_string(config.hidden_size) + " is not a multiple of num_attention_heads " +
                   std::to_string(config.num_attention_heads));
  }
  if (config.hidden_act != "gelu") {
    return base::unimplemented(source + ": " + (config.is_modernbert() ? "hidden_activation" : "hidden_act") + " \"" +
                               config.hidden_act +
                               "\" is not supported (only \"gelu\", the exact erf GELU)");
  }
  if (config.position_embedding_type != "absolute") {
    return base::unimplemented(source + ": position_embedding_type \"" + config.position_embedding_type +
                               "\" is not supported (only \"absolute\")");
  }
  if (!(config.layer_norm_eps > 0.0f)) return invalid("layer_norm_eps must be positive");
  if (config.is_modernbert()) {
    if (config.global_attn_every_n_layers == 0) return invalid("global_attn_every_n_layers must be positive");
    if (config.local_attention < 2) {
      return invalid("local_attention " + std::to_string(config.local_attention) +
                     " leaves no window (a token sees keys within ±local_attention / 2)");
    }
    if (!(config.global_rope_theta > 0.0) || !(config.local_rope_theta > 0.0)) {
      return invalid("global_rope_theta and local_rope_theta must be positive");
    }
    if ((config.hidden_size / config.num_attention_heads) % 2 != 0) {
      return invalid("head size " + std::to_string(config.hidden_size / config.num_attention_heads) +
                     " is odd; rotary embeddings need an even one");
    }
    if (config.classifier_pooling != "cls" && config.classifier_pooling != "mean") {
      return base::unimplemented(source + ": classifier_pooling \"" + config.classifier_pooling +
                                 "\" is not supported (\"cls\" or \"mean\")");
    }
    if (config.classifier_activation != "gelu") {
      return base::unimplemented(source + ": classifier_activation \"" + config.classifier_activation +
                                 "\" is not supported (only \"gelu\", the exact erf GELU)");
    }
  }
  return config;
}

base::Result<ModelConfig> read_model_config(const std::filesystem::path& path) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(path));
  return parse_model_config(json, path.string());
}

}  // namespace winnow::model

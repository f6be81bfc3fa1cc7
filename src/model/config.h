// config.json of a Hugging Face encoder checkpoint: the BERT family (BERT,
// XLM-RoBERTa, RoBERTa) and ModernBERT; and of the Qwen3 decoder that
// Qwen3-Reranker is (Qwen3ForCausalLM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::model {

struct ModelConfig {
  std::vector<std::string> architectures;           // e.g. {"BertForSequenceClassification"}
  std::optional<std::string> model_type;            // "bert", "xlm-roberta"; absent in custom-code configs
  std::map<std::string, std::string> auto_map;      // custom code (jina): {"AutoModel": "modeling_….XLMRobertaModel", ...}
  std::size_t hidden_size = 0;
  std::size_t num_hidden_layers = 0;
  std::size_t num_attention_heads = 0;
  std::size_t intermediate_size = 0;
  std::string hidden_act = "gelu";                  // only "gelu" (exact erf) is accepted
  float layer_norm_eps = 1e-12f;
  std::size_t max_position_embeddings = 0;
  std::size_t type_vocab_size = 2;
  std::int32_t pad_token_id = 0;
  std::size_t vocab_size = 0;
  std::size_t num_labels = 2;                       // len(id2label), else num_labels, else 2 (as transformers)
  std::string position_embedding_type = "absolute"; // only "absolute" is accepted
  std::optional<std::string> torch_dtype;
  // sentence-transformers' CrossEncoder activation, e.g. "torch.nn.modules.linear.Identity".
  std::optional<std::string> sbert_ce_default_activation_function;

  // ModernBERT (model_type "modernbert"), with transformers' defaults. Its
  // config names hidden_act "hidden_activation" and layer_norm_eps "norm_eps"
  // (read into the fields above); it has no token types.
  std::size_t global_attn_every_n_layers = 3;  // layer i attends globally when i % n == 0
  std::size_t local_attention = 128;           // the other layers see keys within ±local_attention / 2
  double global_rope_theta = 160000.0;
  double local_rope_theta = 10000.0;
  bool norm_bias = false;                      // LayerNorms with a bias
  bool attention_bias = false;                 // Wqkv / Wo with biases
  bool mlp_bias = false;                       // Wi / Wo with biases
  bool classifier_bias = false;                // head.dense with a bias
  std::string classifier_pooling = "cls";      // "cls" or "mean"
  std::string classifier_activation = "gelu";  // only "gelu"

  bool is_modernbert() const { return model_type && *model_type == "modernbert"; }

  // Qwen3 (model_type "qwen3"), with transformers' defaults. Its config names
  // layer_norm_eps "rms_norm_eps" (read into the field above); hidden_act
  // must be "silu" (SwiGLU). Options that change the computation and are not
  // implemented (rope_scaling, use_sliding_window) are refused by name.
  std::size_t num_key_value_heads = 0;  // 0 in the file: num_attention_heads
  std::size_t head_dim = 0;             // 0 in the file: hidden_size / num_attention_heads
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;     // lm_head shares embed_tokens' weights
  bool use_sliding_window = false;
  bool rope_scaling = false;            // a non-null rope_scaling object

  bool is_qwen3() const { return model_type && *model_type == "qwen3"; }

  // The first of `architectures`, or "" if none.
  std::string architecture() const { return architectures.empty() ? std::string() : architectures.front(); }
};

// Parses and validates a config.json object. `source` names the file in errors.
// Requires hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size, vocab_size and max_position_embeddings; the rest default
// as transformers defaults them (pad_token_id: 0, or 1 for XLM-R / RoBERTa).
base::Result<ModelConfig> parse_model_config(const nlohmann::json& json, const std::string& source);

// read_json_file(path) + parse_model_config.
base::Result<ModelConfig> read_model_config(const std::filesystem::path& path);

}  // namespace winnow::model

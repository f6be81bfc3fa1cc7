#include "model/layout.h"

namespace winnow::model {

std::string EncoderLayout::name() const {
  if (tensors == TensorLayout::kJinaFlash) return "jina-flash";
  if (tensors == TensorLayout::kModernBert) return "modernbert";
  return family == Family::kBert ? "bert" : "xlm-roberta";
}

std::string EncoderLayout::word_embeddings() const {
  return prefix + (tensors == TensorLayout::kModernBert ? "embeddings.tok_embeddings.weight"
                                                       : "embeddings.word_embeddings.weight");
}
std::string EncoderLayout::position_embeddings() const { return prefix + "embeddings.position_embeddings.weight"; }
std::string EncoderLayout::token_type_embeddings() const {
  return prefix + "embeddings.token_type_embeddings.weight";
}
std::string EncoderLayout::embeddings_layer_norm() const {
  if (tensors == TensorLayout::kModernBert) return prefix + "embeddings.norm";
  return prefix + (tensors == TensorLayout::kJinaFlash ? "emb_ln" : "embeddings.LayerNorm");
}
std::string EncoderLayout::layer(std::size_t i) const {
  switch (tensors) {
    case TensorLayout::kJinaFlash: return prefix + "encoder.layers." + std::to_string(i);
    case TensorLayout::kModernBert: return prefix + "layers." + std::to_string(i);
    case TensorLayout::kStandard: break;
  }
  return prefix + "encoder.layer." + std::to_string(i);
}
// ModernBERT: attention_layer_norm is attn_norm (before attention) and
// output_layer_norm mlp_norm (before the FFN); Encoder::load places them.
std::string EncoderLayout::attention_output() const {
  if (tensors == TensorLayout::kModernBert) return "attn.Wo";
  return tensors == TensorLayout::kJinaFlash ? "mixer.out_proj" : "attention.output.dense";
}
std::string EncoderLayout::attention_layer_norm() const {
  if (tensors == TensorLayout::kModernBert) return "attn_norm";
  return tensors == TensorLayout::kJinaFlash ? "norm1" : "attention.output.LayerNorm";
}
std::string EncoderLayout::intermediate() const {
  if (tensors == TensorLayout::kModernBert) return "mlp.Wi";
  return tensors == TensorLayout::kJinaFlash ? "mlp.fc1" : "intermediate.dense";
}
std::string EncoderLayout::output() const {
  if (tensors == TensorLayout::kModernBert) return "mlp.Wo";
  return tensors == TensorLayout::kJinaFlash ? "mlp.fc2" : "output.dense";
}
std::string EncoderLayout::output_layer_norm() const {
  if (tensors == TensorLayout::kModernBert) return "mlp_norm";
  return tensors == TensorLayout::kJinaFlash ? "norm2" : "output.LayerNorm";
}

base::Result<Family> family_of(const ModelConfig& config, const std::string& source) {
  if (config.model_type) {
    const std::string& type = *config.model_type;
    if (type == "bert") return Family::kBert;
    if (type == "xlm-roberta" || type == "roberta") return Family::kRoberta;
    if (type == "modernbert") return Family::kModernBert;
    return base::unimplemented(source + ": model_type \"" + type +
                               "\" is not supported (bert, xlm-roberta, roberta, modernbert)");
  }
  const std::string arch = config.architecture();
  if (arch.rfind("XLMRoberta", 0) == 0 || arch.rfind("Roberta", 0) == 0) return Family::kRoberta;
  if (arch.rfind("Bert", 0) == 0) return Family::kBert;
  return base::unimplemented(source + ": no model_type, and architecture \"" + arch +
                             "\" is not a BERT or XLM-RoBERTa class");
}

base::Result<EncoderLayout> detect_layout(Family family, const Checkpoint& checkpoint) {
  EncoderLayout layout;
  layout.family = family;
  if (family == Family::kModernBert) {
    layout.tensors = TensorLayout::kModernBert;
    for (const char* prefix : {"model.", ""}) {
      layout.prefix = prefix;
      if (checkpoint.find(layout.word_embeddings()) != nullptr) return layout;
    }
    return base::not_found(checkpoint.source().string() +
                           ": missing tensor model.embeddings.tok_embeddings.weight (no ModernBERT embeddings in the "
                           "checkpoint)");
  }
  const char* own_prefix = family == Family::kBert ? "bert." : "roberta.";
  bool found = false;
  for (const char* prefix : {own_prefix, ""}) {
    if (checkpoint.find(std::string(prefix) + "embeddings.word_embeddings.weight") != nullptr) {
      layout.prefix = prefix;
      found = true;
      break;
    }
  }
  if (!found) {
    return base::not_found(checkpoint.source().string() + ": missing tensor " + own_prefix +
                           "embeddings.word_embeddings.weight (no " +
                           (family == Family::kBert ? "BERT" : "XLM-RoBERTa") + " embeddings in the checkpoint)");
  }
  if (checkpoint.find(layout.prefix + "encoder.layers.0.mixer.Wqkv.weight") != nullptr) {
    if (family != Family::kRoberta) {
      return base::unimplemented(checkpoint.source().string() +
                                 ": flash-attention tensor names (mixer.Wqkv) in a BERT checkpoint");
    }
    layout.tensors = TensorLayout::kJinaFlash;
  }
  return layout;
}

base::Result<std::size_t> max_tokens(const ModelConfig& config, Family family, const std::string& source) {
  if (family == Family::kBert || family == Family::kModernBert) return config.max_position_embeddings;
  const auto first = static_cast<std::size_t>(config.pad_token_id) + 1;
  if (config.max_position_embeddings <= first) {
    return base::invalid_argument(source + ": max_position_embeddings " +
                                  std::to_string(config.max_position_embeddings) +
                                  " leaves no positions after pad_token_id " + std::to_string(config.pad_token_id));
  }
  return config.max_position_embeddings - first;
}

}  // namespace winnow::model

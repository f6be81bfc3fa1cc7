// Which encoder a checkpoint holds and under which tensor names.
//
// The family (position-id rule) comes from config.json; the tensor layout
// from the tensor names themselves, never from the directory name:
//   bert         bert.embeddings.*, bert.encoder.layer.N.attention.self.query ...
//   xlm-roberta  roberta.embeddings.*, roberta.encoder.layer.N... (same names)
//   jina-flash   roberta.emb_ln, roberta.encoder.layers.N.mixer.Wqkv (fused q;k;v),
//                mixer.out_proj, norm1, mlp.fc1, mlp.fc2, norm2
//   modernbert   model.embeddings.tok_embeddings, model.embeddings.norm,
//                model.layers.N.{attn_norm (not in layer 0), attn.Wqkv (fused
//                q;k;v), attn.Wo, mlp_norm, mlp.Wi (fused input;gate), mlp.Wo},
//                model.final_norm
// Bare encoders (BertModel / XLMRobertaModel / ModernBertModel as
// sentence-transformers save them) have the same names without the "bert." /
// "roberta." / "model." prefix.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace winnow::model {

enum class Family {
  kBert,     // positions 0, 1, 2, ...
  kRoberta,  // positions pad+1, pad+2, ... counted over non-pad tokens (XLM-R, RoBERTa, jina)
  kModernBert,  // no position table: rotary embeddings in attention; pre-norm layers
};

enum class TensorLayout { kStandard, kJinaFlash, kModernBert };

struct EncoderLayout {
  Family family = Family::kBert;
  TensorLayout tensors = TensorLayout::kStandard;
  std::string prefix;  // "bert.", "roberta.", "model." or ""

  // "bert", "xlm-roberta", "jina-flash" or "modernbert".
  std::string name() const;

  std::string word_embeddings() const;
  std::string position_embeddings() const;
  std::string token_type_embeddings() const;
  std::string embeddings_layer_norm() const;
  // Prefix of encoder layer `i`'s tensors, e.g. "bert.encoder.layer.3".
  std::string layer(std::size_t i) const;
  // Names of a layer's parts, relative to layer(i), without .weight / .bias.
  std::string query() const { return "attention.self.query"; }
  std::string key() const { return "attention.self.key"; }
  std::string value() const { return "attention.self.value"; }
  std::string fused_qkv() const { return tensors == TensorLayout::kModernBert ? "attn.Wqkv" : "mixer.Wqkv"; }
  // ModernBERT's final norm (after the last layer), with its prefix.
  std::string final_norm() const { return prefix + "final_norm"; }
  std::string attention_output() const;
  std::string attention_layer_norm() const;
  std::string intermediate() const;
  std::string output() const;
  std::string output_layer_norm() const;
};

// The family config.json declares (model_type, or the architecture name when a
// custom-code config has no model_type). Unimplemented for anything else.
base::Result<Family> family_of(const ModelConfig& config, const std::string& source);

// Finds the tensor prefix and layout in `checkpoint` for `family`.
base::Result<EncoderLayout> detect_layout(Family family, const Checkpoint& checkpoint);

// Largest sequence length the position table (ModernBERT: the rotary range) allows (see ModelInfo::max_tokens).
base::Result<std::size_t> max_tokens(const ModelConfig& config, Family family, const std::string& source);

}  // namespace winnow::model

// A BERT-family encoder (post-LN transformer): embeddings + layers, from token
// ids to the last hidden state. Heads (classification, pooling) sit on top.
#pragma once

#include <cstddef>
#include <vector>

#include "base/status.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/embeddings.h"
#include "model/layout.h"
#include "model/model_info.h"
#include "model/token_batch.h"
#include "model/weights.h"

namespace winnow::model {

// Buffers one forward pass needs; grown on demand and kept between calls so a
// steady stream of batches allocates nothing.
struct EncoderWorkspace {
  std::vector<float> qkv;           // [tokens, 3 · hidden]
  std::vector<float> context;       // [tokens, hidden]
  std::vector<float> projected;     // [tokens, hidden]
  std::vector<float> intermediate;  // [tokens, intermediate]
  std::vector<float> attention_scratch;
};

class Encoder {
 public:
  // Reads the embeddings and config.num_hidden_layers layers. Errors name the
  // file and tensor; a checkpoint with more layers than the config is refused.
  static base::Result<Encoder> load(const ModelConfig& config, const EncoderLayout& layout,
                                    const Checkpoint& checkpoint, WeightReader& weights);

  // See Embeddings::validate.
  base::Status validate(const TokenBatch& batch) const { return embeddings_.validate(batch); }

  // hidden [tokens, hidden_size()] = the last hidden state of every token of
  // the batch (resized as needed). The batch must have passed validate().
  // Every GEMM runs on the whole packed batch, attention per sequence. A
  // sequence's rows are computed the same way whatever else is packed with it
  // (oneDNN's blocking does not mix rows); the parity tests check that its
  // logit is bitwise the one it gets alone.
  base::Status forward(const TokenBatch& batch, EncoderWorkspace& workspace, std::vector<float>& hidden) const;

  std::size_t hidden_size() const { return hidden_; }
  std::size_t max_tokens() const { return embeddings_.max_tokens(); }
  // Weights of all layers (attention, FFN, LayerNorms), without embeddings.
  std::size_t layer_parameter_count() const { return layer_parameter_count_; }

 private:
  struct Layer {
    kernels::Linear qkv;           // [3H, H]: rows q; k; v
    kernels::Linear attention_out; // [H, H]
    LayerNormWeights attention_norm;
    kernels::Linear intermediate;  // [I, H], GELU fused
    kernels::Linear output;        // [H, I]
    LayerNormWeights output_norm;
  };

  std::size_t hidden_ = 0;
  std::size_t intermediate_size_ = 0;
  float eps_ = 1e-12f;
  std::size_t layer_parameter_count_ = 0;
  Embeddings embeddings_;
  kernels::Attention attention_;
  std::vector<Layer> layers_;
};

// The ModelInfo fields the config, layout and encoder determine; heads add
// theirs (declared_activation, pooling, ...). `weights` is the reader after
// everything was loaded, for parameter count, dtype and bytes.
ModelInfo describe_encoder(const ModelConfig& config, const EncoderLayout& layout, const Encoder& encoder,
                           const WeightReader& weights);

}  // namespace winnow::model

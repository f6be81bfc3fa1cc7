// A transformer encoder: embeddings + layers, from token ids to the last
// hidden state. Heads (classification, pooling) sit on top. One layer loop
// serves every architecture and precision; what differs is a few steps:
//   BERT family  post-LN: x = LN(x + attn(x)); x = LN(x + FFN(x)), GELU FFN,
//                absolute positions in the embeddings.
//   ModernBERT   pre-LN: x = x + attn(LN(x)); x = x + FFN(LN(x)), then a final
//                LN; biases per config; rotary positions applied to q and k
//                (global and local theta); every global_attn_every_n_layers-th
//                layer attends globally, the others in a sliding window
//                (an option of the attention kernel); GeGLU FFN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/huge_pages.h"
#include "base/status.h"
#include "kernels/activation_rows.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/precision.h"
#include "kernels/rotary.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/embeddings.h"
#include "model/layout.h"
#include "model/load_options.h"
#include "model/model_info.h"
#include "model/token_batch.h"
#include "model/weights.h"

namespace winnow::model {

// Where forward passes spend their time, per stage, summed over calls
// (milliseconds). A GEMM stage includes what is fused into it: the residual
// steps of the two output projections (run on each tile of their output),
// the int8 FFN's GELU and requantization, the int8 activations'
// quantization.
struct EncoderProfile {
  double embeddings = 0;     // embeddings + LayerNorm (+ the first conversion or quantization)
  double qkv = 0;            // the fused Q, K, V projection (or the last layer's K, V and first tokens' Q)
  double attention = 0;      // softmax(Q·Kᵀ)·V (+ int8: the context's quantization)
  double attention_out = 0;  // the output projection + residual + LayerNorm
  double norms = 0;          // residual + LayerNorm outside a GEMM (none today: both are fused)
  double ffn_in = 0;         // intermediate projection + GELU (int8: + dequantization and quantization)
  double ffn_act = 0;        // gated FFN's activation outside a GEMM (none today: in ffn_in, kernels::gated_forward)
  double ffn_out = 0;        // output projection + residual + LayerNorm
  double total() const {
    return embeddings + qkv + attention + attention_out + norms + ffn_in + ffn_act + ffn_out;
  }
};

// Buffers one forward pass needs; grown on demand and kept between calls so a
// steady stream of batches allocates nothing. The GEMM inputs are held as
// ActivationRows in the pass's precision, so one workspace serves every
// precision a model prepared.
struct EncoderWorkspace {
  template <typename T>
  using Buffer = base::HugeVector<T>;  // tens of MB, read in strided patterns: huge pages
  Buffer<float> qkv;        // [tokens, 3 · hidden]: the fused projection (int8: before its affine)
  Buffer<float> first_query;  // [sequences, hidden]: the last layer's q of the first tokens, where computed apart
  Buffer<float> hidden;     // [tokens, hidden]: the running state in first-token mode
  Buffer<float> normed;     // pre-LN: [tokens, hidden], the LayerNorm's output the next GEMM reads
  Buffer<float> gated;      // gated FFN: [tokens, 2 · intermediate], both halves before the gate
  std::vector<float> attention_scratch;
  // The GEMMs' inputs: the hidden state, the attention context, and the
  // FFN's middle (after GELU).
  kernels::ActivationRows input, context, intermediate;
  // The first tokens' rows of `input`, where the last layer's q is computed for them alone.
  kernels::ActivationRows first_input;
  // When set, forward passes add their stage times here (the clock is only
  // read when it is set).
  EncoderProfile* profile = nullptr;
};

// Which hidden states a loaded encoder computes.
enum class EncoderStates {
  kEveryToken,   // forward() and forward_first_tokens()
  // forward_first_tokens() only: the last layer's query projection is
  // prepared apart from its key and value projection and runs on the first
  // tokens alone (absolute-position models; rotary ones keep the fused
  // projection, whose tiles the rotation runs on).
  kFirstTokens,
};

class Encoder {
 public:
  // Reads the embeddings and config.num_hidden_layers layers, and prepares the
  // dense layers in each of options.precisions (the first is the default).
  // Errors name the file and tensor; a checkpoint with more layers than the
  // config is refused; a precision the CPU cannot run is refused naming the
  // missing instruction set.
  static base::Result<Encoder> load(const ModelConfig& config, const EncoderLayout& layout,
                                    const Checkpoint& checkpoint, WeightReader& weights,
                                    const LoadOptions& options = {},
                                    EncoderStates states = EncoderStates::kEveryToken);

  // See Embeddings::validate.
  base::Status validate(const TokenBatch& batch) const { return embeddings_.validate(batch); }

  // hidden [tokens, hidden_size()] = the last hidden state of every token of
  // the batch (resized as needed), in `precision` (one of precisions()). The
  // batch must have passed validate(). Every GEMM runs on the whole packed
  // batch, attention per sequence. A sequence's rows are computed the same
  // way whatever else is packed with it (oneDNN's blocking does not mix
  // rows, activations are quantized per row, attention reads only the
  // sequence's own tokens); the parity tests check that its logit is bitwise
  // the one it gets alone on AVX-512, within 1e-5 on AVX2 (where oneDNN's
  // gemm:jit blocks rows by their count).
  // FailedPrecondition if `precision` was not prepared, or if the encoder
  // was loaded for EncoderStates::kFirstTokens.
  base::Status forward(const TokenBatch& batch, base::Precision precision, EncoderWorkspace& workspace,
                       std::vector<float>& hidden) const;
  // The same in default_precision().
  base::Status forward(const TokenBatch& batch, EncoderWorkspace& workspace, std::vector<float>& hidden) const {
    return forward(batch, default_precision(), workspace, hidden);
  }

  // first [sequences, hidden_size()] = the last hidden state of each
  // sequence's first token: what a classification head reads. The same
  // values as forward()'s rows offsets[s] (in fp32), but the last layer runs
  // attention (as queries), the output projection, the FFN and both
  // LayerNorms for those rows only, and when loaded for EncoderStates::
  // kFirstTokens its q projection too.
  base::Status forward_first_tokens(const TokenBatch& batch, base::Precision precision,
                                    EncoderWorkspace& workspace, std::vector<float>& first) const;

  std::size_t hidden_size() const { return hidden_; }
  std::size_t max_tokens() const { return embeddings_.max_tokens(); }
  // Weights of all layers (attention, FFN, LayerNorms, ModernBERT's final
  // norm), without embeddings.
  std::size_t layer_parameter_count() const { return layer_parameter_count_; }
  // The prepared precisions, the default first (ModelInfo::check_prepared
  // tells a caller which it may ask for).
  const std::vector<base::Precision>& precisions() const { return precisions_; }
  base::Precision default_precision() const { return precisions_.front(); }
  // What attention runs on: "avx512", "avx2" or "onednn".
  std::string attention_kernel() const { return attention_.kernel_name(); }

 private:
  // A layer's dense layers in one precision.
  struct Dense {
    kernels::Linear qkv;           // [3H, H]: rows q; k; v (empty where query_apart_ splits it)
    kernels::Linear query;         // [H, H]: the last layer's q, where query_apart_
    kernels::Linear key_value;     // [2H, H]: rows k; v, beside `query`
    kernels::Linear attention_out; // [H, H]
    kernels::Linear intermediate;  // [I, H], GELU; gated: [2I, H], rows input; gate
    kernels::Linear output;        // [H, I]
  };
  // The two norms each layer applies, by where they sit in the loop:
  // `attention` after the attention's residual (it feeds the FFN), `output`
  // after the FFN's residual (it feeds the next layer). Post-LN: the layer's
  // own two. Pre-LN: mlp_norm, and the next layer's attn_norm (the final
  // norm after the last layer); layer 0's attn_norm is first_norm_.
  struct Norms {
    LayerNormWeights attention;
    LayerNormWeights output;
  };
  // How a layer attends: the kernel's window (0: globally) and, with rotary
  // positions, which of rotary_ it uses.
  struct LayerAttention {
    std::size_t window = 0;
    std::size_t rotary = 0;
  };
  struct Prepared {
    base::Precision precision = base::Precision::kFp32;
    std::vector<Dense> layers;
  };

  // The layers, once for every precision: each Linear takes and leaves its
  // activations in its own precision's form (kernels::ActivationRows). out
  // is the whole state, or the first tokens' rows in first-token mode.
  base::Status run(const TokenBatch& batch, const Prepared& prepared, bool first_only, EncoderWorkspace& ws,
                   std::vector<float>& out) const;
  const Prepared* find(base::Precision precision) const;
  // Whether a `precision` model computes attention in bf16 (LoadOptions).
  bool bf16_attention(base::Precision precision) const;

  std::size_t hidden_ = 0;
  std::size_t intermediate_size_ = 0;
  std::size_t num_heads_ = 0;
  bool pre_norm_ = false;   // ModernBERT's layer order (see the top of this file)
  bool gated_ffn_ = false;  // GeGLU: intermediate's output is both halves
  bool query_apart_ = false;  // EncoderStates::kFirstTokens: the last layer has query and key_value, not qkv
  LayerNormWeights first_norm_;  // pre-LN: layer 0's attn_norm (absent: Identity)
  std::vector<LayerAttention> layer_attention_;  // per layer
  std::vector<kernels::RotaryTable> rotary_;     // empty: absolute positions (in the embeddings)
  float eps_ = 1e-12f;
  std::size_t layer_parameter_count_ = 0;
  AttentionPrecision attention_precision_ = AttentionPrecision::kAuto;
  Embeddings embeddings_;
  kernels::Attention attention_;
  std::vector<Norms> norms_;
  std::vector<Prepared> prepared_;
  std::vector<base::Precision> precisions_;
};

// The ModelInfo fields the config, layout and encoder determine; heads add
// theirs (declared_activation, pooling, ...). `weights` is the reader after
// everything was loaded, for parameter count, dtype and bytes.
ModelInfo describe_encoder(const ModelConfig& config, const EncoderLayout& layout, const Encoder& encoder,
                           const WeightReader& weights);

}  // namespace winnow::model

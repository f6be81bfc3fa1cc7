#include "model/encoder.h"

#include <charconv>
#include <chrono>
#include <cstring>
#include <span>
#include <tuple>
#include <utility>

#include "kernels/attention.h"
#include "kernels/gated_activation.h"
#include "kernels/layer_norm.h"
#include "model/model_description.h"

namespace winnow::model {

namespace {

// Refuses a checkpoint holding layers past num_hidden_layers: config and
// weights disagree, and silently dropping layers would give wrong scores.
base::Status check_layer_count(const ModelConfig& config, const EncoderLayout& layout, const Checkpoint& checkpoint) {
  const std::string zeroth = layout.layer(0);
  const std::string layer_prefix = zeroth.substr(0, zeroth.size() - 1);  // e.g. "bert.encoder.layer."
  for (const std::string& name : checkpoint.names()) {
    if (name.rfind(layer_prefix, 0) != 0) continue;
    std::size_t index = 0;
    const char* first = name.data() + layer_prefix.size();
    const char* last = name.data() + name.size();
    auto [end, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && end != first && index >= config.num_hidden_layers) {
      return base::invalid_argument(checkpoint.source().string() + ": tensor " + name + " belongs to layer " +
                                    std::to_string(index) + ", but config.json has num_hidden_layers " +
                                    std::to_string(config.num_hidden_layers));
    }
  }
  return {};
}

// Weight rows [0, first) and [first, out) (with their biases) as two Linears.
std::pair<LinearWeights, LinearWeights> split_rows(LinearWeights w, std::size_t first) {
  LinearWeights a, b;
  a.in = b.in = w.in;
  a.out = first;
  b.out = w.out - first;
  const auto cut = static_cast<std::ptrdiff_t>(first * w.in);
  a.weight.assign(w.weight.begin(), w.weight.begin() + cut);
  b.weight.assign(w.weight.begin() + cut, w.weight.end());
  if (!w.bias.empty()) {
    a.bias.assign(w.bias.begin(), w.bias.begin() + static_cast<std::ptrdiff_t>(first));
    b.bias.assign(w.bias.begin() + static_cast<std::ptrdiff_t>(first), w.bias.end());
  }
  return {std::move(a), std::move(b)};
}

// Callers check the precision with ModelInfo::check_prepared first (which
// names the prepared ones and how to prepare more); this only guards the
// Encoder's own API.
base::Status not_prepared(base::Precision precision) {
  return base::failed_precondition("encoder: precision " + std::string(base::precision_name(precision)) +
                                   " was not prepared");
}

template <typename Vector>
void grow(Vector& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

// Adds the time since the previous lap to one stage of a profile; does
// nothing (not even read the clock) without one.
class StageClock {
 public:
  explicit StageClock(EncoderProfile* profile) : profile_(profile) {
    if (profile_ != nullptr) last_ = std::chrono::steady_clock::now();
  }
  void lap(double EncoderProfile::*stage) {
    if (profile_ == nullptr) return;
    const auto now = std::chrono::steady_clock::now();
    profile_->*stage += std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
  }

 private:
  EncoderProfile* profile_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

base::Result<Encoder> Encoder::load(const ModelConfig& config, const EncoderLayout& layout,
                                    const Checkpoint& checkpoint, WeightReader& weights, const LoadOptions& options,
                                    EncoderStates states) {
  WINNOW_RETURN_IF_ERROR(check_load_options(options));
  WINNOW_RETURN_IF_ERROR(check_layer_count(config, layout, checkpoint));
  Encoder encoder;
  const std::size_t h = config.hidden_size;
  const std::size_t inter = config.intermediate_size;
  encoder.hidden_ = h;
  encoder.intermediate_size_ = inter;
  encoder.eps_ = config.layer_norm_eps;
  encoder.precisions_ = options.precisions;
  encoder.attention_precision_ = options.attention_precision;
  WINNOW_ASSIGN_OR_RETURN(encoder.embeddings_, Embeddings::load(config, layout, checkpoint, weights));
  WINNOW_ASSIGN_OR_RETURN(encoder.attention_, kernels::Attention::create(config.num_attention_heads,
                                                                         h / config.num_attention_heads,
                                                                         options.attention));
  for (base::Precision p : options.precisions) encoder.prepared_.push_back(Prepared{p, {}});
  const bool modern = layout.tensors == TensorLayout::kModernBert;
  encoder.num_heads_ = config.num_attention_heads;
  encoder.pre_norm_ = modern;
  encoder.gated_ffn_ = modern;
  encoder.query_apart_ = states == EncoderStates::kFirstTokens && !modern && config.num_hidden_layers > 0;
  encoder.layer_attention_.resize(config.num_hidden_layers);
  if (modern) {
    // transformers' ModernBertAttention: layer i is global when
    // i % global_attn_every_n_layers == 0, else local with window
    // local_attention // 2 and the local theta.
    const std::size_t head_dim = h / config.num_attention_heads;
    const std::size_t positions = encoder.embeddings_.max_tokens();
    WINNOW_ASSIGN_OR_RETURN(kernels::RotaryTable global,
                            kernels::RotaryTable::create(head_dim, config.global_rope_theta, positions));
    WINNOW_ASSIGN_OR_RETURN(kernels::RotaryTable local,
                            kernels::RotaryTable::create(head_dim, config.local_rope_theta, positions));
    encoder.rotary_.push_back(std::move(global));
    encoder.rotary_.push_back(std::move(local));
    for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
      if (i % config.global_attn_every_n_layers != 0) encoder.layer_attention_[i] = {config.local_attention / 2, 1};
    }
  }
  const bool attention_bias = !modern || config.attention_bias;
  const bool mlp_bias = !modern || config.mlp_bias;
  const bool norm_bias = !modern || config.norm_bias;
  const std::size_t before_layers = weights.parameter_count();
  // Pre-LN: each layer's attn_norm is the previous layer's `output` norm.
  auto attention_norm = [&](std::size_t i) -> base::Result<LayerNormWeights> {
    const std::string name = layout.layer(i) + "." + layout.attention_layer_norm();
    if (i == 0 && checkpoint.find(name + ".weight") == nullptr) return LayerNormWeights{};  // Identity
    return weights.layer_norm(name, h, norm_bias);
  };
  if (modern) {
    WINNOW_ASSIGN_OR_RETURN(encoder.first_norm_, attention_norm(0));
  }
  for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = layout.layer(i) + ".";
    // Each Linear is read once as fp32 and prepared in every precision; the
    // fp32 copy goes when the next one is read.
    LinearWeights qkv, attention_out, intermediate, output;
    Norms norms;
    if (layout.tensors == TensorLayout::kStandard) {
      WINNOW_ASSIGN_OR_RETURN(qkv, weights.read_fused_linear({p + layout.query(), p + layout.key(), p + layout.value()},
                                                             h, h));
    } else {
      WINNOW_ASSIGN_OR_RETURN(qkv, weights.read_linear(p + layout.fused_qkv(), 3 * h, h, attention_bias));
    }
    WINNOW_ASSIGN_OR_RETURN(attention_out, weights.read_linear(p + layout.attention_output(), h, h, attention_bias));
    if (modern) {
      WINNOW_ASSIGN_OR_RETURN(norms.attention, weights.layer_norm(p + layout.output_layer_norm(), h, norm_bias));
    } else {
      WINNOW_ASSIGN_OR_RETURN(norms.attention, weights.layer_norm(p + layout.attention_layer_norm(), h));
    }
    const std::size_t ffn_rows = encoder.gated_ffn_ ? 2 * inter : inter;
    WINNOW_ASSIGN_OR_RETURN(intermediate, weights.read_linear(p + layout.intermediate(), ffn_rows, h, mlp_bias));
    WINNOW_ASSIGN_OR_RETURN(output, weights.read_linear(p + layout.output(), h, inter, mlp_bias));
    if (!modern) {
      WINNOW_ASSIGN_OR_RETURN(norms.output, weights.layer_norm(p + layout.output_layer_norm(), h));
    } else if (i + 1 < config.num_hidden_layers) {
      WINNOW_ASSIGN_OR_RETURN(norms.output, attention_norm(i + 1));
    } else {
      WINNOW_ASSIGN_OR_RETURN(norms.output, weights.layer_norm(layout.final_norm(), h, norm_bias));
    }
    encoder.norms_.push_back(std::move(norms));
    // The last layer's q serves the first tokens only (forward_first_tokens):
    // its rows of the fused weight become a projection of their own.
    const bool apart = encoder.query_apart_ && i + 1 == config.num_hidden_layers;
    LinearWeights query, key_value;
    if (apart) {
      std::tie(query, key_value) = split_rows(std::move(qkv), h);
    }
    // The gated FFN's activation runs after the GEMM (gated_activation), not fused into it.
    const kernels::Epilogue ffn_epilogue = encoder.gated_ffn_ ? kernels::Epilogue::kNone : kernels::Epilogue::kGeluErf;
    for (Prepared& prepared : encoder.prepared_) {
      Dense dense;
      const base::Precision precision = prepared.precision;
      const std::string where = layout.layer(i) + " (" + std::string(base::precision_name(precision)) + ")";
      auto with_where = [&](base::Result<kernels::Linear> r) -> base::Result<kernels::Linear> {
        if (!r.ok()) return r.status().with_context(where);
        return r;
      };
      if (apart) {
        WINNOW_ASSIGN_OR_RETURN(dense.query,
                                with_where(weights.prepare(query, kernels::Epilogue::kNone, precision)));
        WINNOW_ASSIGN_OR_RETURN(dense.key_value,
                                with_where(weights.prepare(key_value, kernels::Epilogue::kNone, precision)));
      } else {
        WINNOW_ASSIGN_OR_RETURN(dense.qkv, with_where(weights.prepare(qkv, kernels::Epilogue::kNone, precision)));
      }
      WINNOW_ASSIGN_OR_RETURN(dense.attention_out,
                              with_where(weights.prepare(attention_out, kernels::Epilogue::kNone, precision)));
      WINNOW_ASSIGN_OR_RETURN(dense.intermediate, with_where(weights.prepare(intermediate, ffn_epilogue, precision)));
      WINNOW_ASSIGN_OR_RETURN(dense.output, with_where(weights.prepare(output, kernels::Epilogue::kNone, precision)));
      prepared.layers.push_back(std::move(dense));
    }
  }
  encoder.layer_parameter_count_ = weights.parameter_count() - before_layers;
  return encoder;
}

bool Encoder::bf16_attention(base::Precision precision) const {
  return model::bf16_attention(attention_precision_, precision);
}

const Encoder::Prepared* Encoder::find(base::Precision precision) const {
  for (const Prepared& p : prepared_) {
    if (p.precision == precision) return &p;
  }
  return nullptr;
}

base::Status Encoder::forward(const TokenBatch& batch, base::Precision precision, EncoderWorkspace& ws,
                              std::vector<float>& hidden) const {
  const Prepared* prepared = find(precision);
  if (prepared == nullptr) return not_prepared(precision);
  if (query_apart_) {
    return base::failed_precondition("encoder: loaded for the first tokens' states only, not every token's");
  }
  hidden.resize(batch.num_tokens() * hidden_);
  if (batch.num_tokens() == 0) return {};
  return run(batch, *prepared, /*first_only=*/false, ws, hidden);
}

base::Status Encoder::forward_first_tokens(const TokenBatch& batch, base::Precision precision,
                                           EncoderWorkspace& ws, std::vector<float>& first) const {
  const Prepared* prepared = find(precision);
  if (prepared == nullptr) return not_prepared(precision);
  first.resize(batch.num_sequences() * hidden_);
  if (batch.num_tokens() == 0) return {};
  return run(batch, *prepared, /*first_only=*/true, ws, first);
}

namespace {

// out[s] = x[offsets[s]] for every sequence: the rows the last layer keeps.
void gather_first_rows(const float* x, std::span<const std::int32_t> offsets, std::size_t hidden, float* out) {
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    std::memcpy(out + s * hidden, x + static_cast<std::size_t>(offsets[s]) * hidden, hidden * sizeof(float));
  }
}

}  // namespace

base::Status Encoder::run(const TokenBatch& batch, const Prepared& prepared, bool first_only, EncoderWorkspace& ws,
                          std::vector<float>& out) const {
  const std::size_t tokens = batch.num_tokens(), sequences = batch.num_sequences(), h = hidden_;
  const std::size_t layers = prepared.layers.size();
  const base::Precision precision = prepared.precision;
  // All tokens' rows: the output itself, or a workspace buffer when only the
  // first rows come out.
  if (first_only) grow(ws.hidden, tokens * h);
  float* x = first_only ? ws.hidden.data() : out.data();
  grow(ws.qkv, tokens * 3 * h);
  ws.input.reserve(precision, tokens, h);
  ws.context.reserve(precision, tokens, h);
  ws.intermediate.reserve(precision, tokens, intermediate_size_);
  if (pre_norm_) grow(ws.normed, tokens * h);
  // int8 finishes the gated GEMM's tiles in cache (kernels::gated_forward): no [tokens, 2 · I] output.
  if (gated_ffn_ && precision != base::Precision::kInt8) grow(ws.gated, tokens * 2 * intermediate_size_);
  StageClock clock(ws.profile);
  // The first layer's input: the embeddings' rows themselves (made by their
  // own norm's pass), or a pre-LN model's first norm of them.
  const bool first_norm = pre_norm_ && first_norm_.present();
  embeddings_.forward(batch, x, first_norm ? nullptr : &ws.input);
  if (first_norm) {
    kernels::add_residual_layer_norm(nullptr, {}, x, tokens, h, first_norm_.gamma.data(), first_norm_.bias(), eps_,
                                     ws.normed.data(), &ws.input);
  }
  clock.lap(&EncoderProfile::embeddings);
  const bool bf16 = bf16_attention(precision);
  // A projection and the residual step after it (after attention and after
  // the FFN), the step run on each tile of the projection's output as the
  // GEMM writes it (Linear::forward with a TilePass): post-LN writes LN(state
  // + y) over the state; pre-LN adds y to the state and writes its LN to
  // `normed` (the last layer's final norm goes over the state itself).
  // `next` receives the normalised rows as the next GEMM's input.
  auto project_residual = [&](const kernels::Linear& linear, const kernels::ActivationRows& in, float* state,
                              std::size_t rows, const LayerNormWeights& norm, bool final,
                              kernels::ActivationRows* next) -> base::Status {
    float* written = pre_norm_ && !final ? ws.normed.data() : state;
    const kernels::ActivationRows::Copies copies =
        next != nullptr ? next->copies_for(written) : kernels::ActivationRows::Copies{};
    const float* gamma = norm.gamma.data();
    if (pre_norm_) {
      const float* bias = norm.bias();
      return linear.forward(in, rows, nullptr,
                            [&](float* y, const kernels::RowAffine& rest, std::size_t begin, std::size_t end) {
                              kernels::add_residual_layer_norm_tile(y, rest, state, begin, end, h, gamma, bias, eps_,
                                                                    written, copies);
                            });
    }
    const float* beta = norm.beta.data();
    return linear.forward(in, rows, nullptr,
                          [&](float* y, const kernels::RowAffine& rest, std::size_t begin, std::size_t end) {
                            kernels::add_layer_norm_tile(y, rest, state, begin, end, h, gamma, beta, eps_, state,
                                                         copies);
                          });
  };
  for (std::size_t l = 0; l < layers; ++l) {
    const Dense& d = prepared.layers[l];
    const Norms& n = norms_[l];
    const LayerAttention& shape = layer_attention_[l];
    // In the last layer of first-token mode, Q·Kᵀ still sees every token's
    // key and value, but only the first tokens are queries, and from there
    // on `rows` = sequences and the state lives in `out`.
    const bool last = first_only && l + 1 == layers;
    const bool more = l + 1 < layers;
    const std::size_t rows = last ? sequences : tokens;
    kernels::RowAffine affine;  // what finishes each GEMM's output (int8), applied by the pass that reads it
    // The last layer with its q apart (query_apart_, first-token mode only):
    // k and v of every token, q of the first tokens alone.
    const bool query_apart = query_apart_ && l + 1 == layers;
    kernels::RowAffine query_affine;
    if (query_apart) {
      WINNOW_RETURN_IF_ERROR(d.key_value.forward(ws.input, tokens, ws.qkv.data(), affine));
      ws.first_input.reserve(precision, sequences, h);
      ws.first_input.gather(ws.input, std::span<const std::int32_t>(batch.offsets.data(), sequences));
      grow(ws.first_query, sequences * h);
      WINNOW_RETURN_IF_ERROR(d.query.forward(ws.first_input, sequences, ws.first_query.data(), query_affine));
    } else if (!rotary_.empty()) {
      // Each tile of the projection finished (affine) and its q and k rotated as the GEMM writes it, in
      // place: attention reads plain values.
      const kernels::RotaryTable& table = rotary_[shape.rotary];
      WINNOW_RETURN_IF_ERROR(d.qkv.forward(
          ws.input, tokens, ws.qkv.data(),
          [&](float* y, const kernels::RowAffine& rest, std::size_t begin, std::size_t end) {
            kernels::apply_rotary_tile(y, rest, begin, end, batch.offsets, num_heads_, table);
          }));
    } else {
      WINNOW_RETURN_IF_ERROR(d.qkv.forward(ws.input, tokens, ws.qkv.data(), affine));
    }
    clock.lap(&EncoderProfile::qkv);
    kernels::AttentionRequest attention;
    attention.qkv = ws.qkv.data();
    attention.affine = affine;
    attention.offsets = batch.offsets;
    attention.bf16 = bf16;
    attention.first_token_only = last;
    if (query_apart) {
      attention.first_query = ws.first_query.data();
      attention.first_query_affine = query_affine;
    }
    attention.window = shape.window;
    const kernels::ActivationRows::Targets context = ws.context.targets();
    attention.out = context.fp32;
    attention.out_bf16 = context.bf16;
    attention.out_q = context.q;  // int8: the context quantized as each sequence is done
    attention.out_scale = context.scale;
    attention.out_zero = context.zero;
    attention.scratch = &ws.attention_scratch;
    WINNOW_RETURN_IF_ERROR(attention_.forward(attention));
    ws.context.complete(rows, /*quantized=*/true);
    float* state = x;
    if (last) {
      gather_first_rows(x, batch.offsets, h, out.data());
      state = out.data();
    }
    clock.lap(&EncoderProfile::attention);
    WINNOW_RETURN_IF_ERROR(project_residual(d.attention_out, ws.context, state, rows, n.attention, /*final=*/false,
                                            &ws.input));
    clock.lap(&EncoderProfile::attention_out);
    if (gated_ffn_) {
      // The activation (int8: on the GEMM's tiles as they are written) counts in ffn_in.
      WINNOW_RETURN_IF_ERROR(kernels::gated_forward(d.intermediate, ws.input, rows, kernels::GateActivation::kGeluErf,
                                                    ws.gated.data(), ws.intermediate));
      clock.lap(&EncoderProfile::ffn_in);
    } else {
      WINNOW_RETURN_IF_ERROR(d.intermediate.forward(ws.input, rows, ws.intermediate));
      clock.lap(&EncoderProfile::ffn_in);
    }
    WINNOW_RETURN_IF_ERROR(project_residual(d.output, ws.intermediate, state, rows, n.output, /*final=*/!more,
                                            more ? &ws.input : nullptr));
    clock.lap(&EncoderProfile::ffn_out);
  }
  if (first_only && layers == 0) gather_first_rows(x, batch.offsets, h, out.data());
  return {};
}

ModelInfo describe_encoder(const ModelConfig& config, const EncoderLayout& layout, const Encoder& encoder,
                           const WeightReader& weights) {
  ModelInfo info = describe_config(config, layout, encoder.max_tokens());
  info.stored_dtype = weights.stored_dtype();
  info.parameter_count = weights.parameter_count();
  info.encoder_layer_parameter_count = encoder.layer_parameter_count();
  info.weight_bytes = weights.weight_bytes();
  info.precision = encoder.default_precision();
  info.precisions = encoder.precisions();
  info.attention_kernel = encoder.attention_kernel();
  return info;
}

}  // namespace winnow::model

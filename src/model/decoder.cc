#include "model/decoder.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "kernels/gated_activation.h"
#include "kernels/grouped_qkv.h"
#include "kernels/precision.h"
#include "kernels/rms_norm.h"

namespace winnow::model {

namespace {

// Prefixes kept: the requests in flight at once rarely number more, and a
// prefix of 0.6B's shape takes ~0.45 MB a token in fp32.
constexpr std::size_t kCachedPrefixes = 4;

template <typename Vector>
void grow(Vector& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

// A checkpoint with layers past num_hidden_layers disagrees with its config.
base::Status check_layer_count(const ModelConfig& config, const Checkpoint& checkpoint) {
  const std::string prefix = "model.layers.";
  for (const std::string& name : checkpoint.names()) {
    if (name.rfind(prefix, 0) != 0) continue;
    std::size_t index = 0;
    const char* first = name.data() + prefix.size();
    auto [end, ec] = std::from_chars(first, name.data() + name.size(), index);
    if (ec == std::errc() && end != first && index >= config.num_hidden_layers) {
      return base::invalid_argument(checkpoint.source().string() + ": tensor " + name + " belongs to layer " +
                                    std::to_string(index) + ", but config.json has num_hidden_layers " +
                                    std::to_string(config.num_hidden_layers));
    }
  }
  return {};
}

// Linears over the same input stacked along the output axis.
LinearWeights stack(std::vector<LinearWeights> parts) {
  LinearWeights out;
  out.in = parts.front().in;
  const bool bias = !parts.front().bias.empty();
  for (LinearWeights& part : parts) {
    out.out += part.out;
    out.weight.insert(out.weight.end(), part.weight.begin(), part.weight.end());
    if (bias) out.bias.insert(out.bias.end(), part.bias.begin(), part.bias.end());
  }
  return out;
}

}  // namespace

base::Result<std::unique_ptr<Decoder>> Decoder::load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                     WeightReader& weights, const LoadOptions& options,
                                                     std::array<std::int32_t, 2> label_ids) {
  WINNOW_RETURN_IF_ERROR(check_load_options(options));
  WINNOW_RETURN_IF_ERROR(check_layer_count(config, checkpoint));
  const std::string source = checkpoint.source().string();
  std::unique_ptr<Decoder> decoder(new Decoder());
  Decoder& m = *decoder;
  const std::size_t h = config.hidden_size, inter = config.intermediate_size, d = config.head_dim;
  m.hidden_ = h;
  m.intermediate_ = inter;
  m.num_heads_ = config.num_attention_heads;
  m.num_kv_heads_ = config.num_key_value_heads;
  m.head_dim_ = d;
  m.vocab_size_ = config.vocab_size;
  m.max_tokens_ = config.max_position_embeddings;
  m.eps_ = config.layer_norm_eps;
  m.precisions_ = options.precisions;
  m.attention_precision_ = options.attention_precision;
  const std::size_t q_width = m.num_heads_ * d, kv_width = m.num_kv_heads_ * d;

  const std::string embed_name = "model.embed_tokens.weight";
  WINNOW_ASSIGN_OR_RETURN(m.embed_, weights.use_in_place(embed_name, {config.vocab_size, h}));
  m.embed_file_ = checkpoint.shared_file_of(embed_name);
  for (std::int32_t id : label_ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= config.vocab_size) {
      return base::invalid_argument(source + ": label token id " + std::to_string(id) +
                                    " is outside the vocabulary of " + std::to_string(config.vocab_size));
    }
  }
  // Only the label rows of lm_head are ever used: the rest of the vocabulary
  // projection is never computed.
  const TensorInfo* head = m.embed_;
  if (!config.tie_word_embeddings) {
    if (checkpoint.find("lm_head.weight") == nullptr) {
      return base::not_found(source + ": missing tensor lm_head.weight (config.json has tie_word_embeddings false)");
    }
    WINNOW_ASSIGN_OR_RETURN(head, checkpoint.expect("lm_head.weight", {config.vocab_size, h}));
  }
  m.label_rows_.resize(2 * h);
  const std::size_t row_bytes = h * dtype_size(head->dtype);
  for (std::size_t k = 0; k < 2; ++k) {
    convert_to_f32(head->dtype, head->bytes.data() + static_cast<std::size_t>(label_ids[k]) * row_bytes, h,
                   m.label_rows_.data() + k * h);
  }

  WINNOW_ASSIGN_OR_RETURN(m.rotary_, kernels::RotaryTable::create(d, config.rope_theta, m.max_tokens_));
  WINNOW_ASSIGN_OR_RETURN(m.attention_, kernels::Attention::create(m.num_heads_, d, options.attention));
  for (base::Precision p : options.precisions) m.prepared_.push_back(Prepared{p, {}});
  const bool bias = config.attention_bias;
  const std::size_t before_layers = weights.parameter_count();
  for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Norms norms;
    WINNOW_ASSIGN_OR_RETURN(norms.input, weights.read(p + "input_layernorm.weight", {h}));
    WINNOW_ASSIGN_OR_RETURN(norms.post_attention, weights.read(p + "post_attention_layernorm.weight", {h}));
    WINNOW_ASSIGN_OR_RETURN(norms.q, weights.read(p + "self_attn.q_norm.weight", {d}));
    WINNOW_ASSIGN_OR_RETURN(norms.k, weights.read(p + "self_attn.k_norm.weight", {d}));
    m.norms_.push_back(std::move(norms));
    std::vector<LinearWeights> qkv_parts(3), ffn_parts(2);
    WINNOW_ASSIGN_OR_RETURN(qkv_parts[0], weights.read_linear(p + "self_attn.q_proj", q_width, h, bias));
    WINNOW_ASSIGN_OR_RETURN(qkv_parts[1], weights.read_linear(p + "self_attn.k_proj", kv_width, h, bias));
    WINNOW_ASSIGN_OR_RETURN(qkv_parts[2], weights.read_linear(p + "self_attn.v_proj", kv_width, h, bias));
    WINNOW_ASSIGN_OR_RETURN(LinearWeights o, weights.read_linear(p + "self_attn.o_proj", h, q_width, bias));
    WINNOW_ASSIGN_OR_RETURN(ffn_parts[0], weights.read_linear(p + "mlp.gate_proj", inter, h, false));
    WINNOW_ASSIGN_OR_RETURN(ffn_parts[1], weights.read_linear(p + "mlp.up_proj", inter, h, false));
    WINNOW_ASSIGN_OR_RETURN(LinearWeights down, weights.read_linear(p + "mlp.down_proj", h, inter, false));
    const LinearWeights qkv = stack(std::move(qkv_parts));
    const LinearWeights gate_up = stack(std::move(ffn_parts));
    for (Prepared& prepared : m.prepared_) {
      const std::string where = "model.layers." + std::to_string(i) + " (" +
                                std::string(base::precision_name(prepared.precision)) + ")";
      auto make = [&](const LinearWeights& w) -> base::Result<kernels::Linear> {
        base::Result<kernels::Linear> r = weights.prepare(w, kernels::Epilogue::kNone, prepared.precision);
        if (!r.ok()) return r.status().with_context(where);
        return r;
      };
      Dense dense;
      WINNOW_ASSIGN_OR_RETURN(dense.qkv, make(qkv));
      WINNOW_ASSIGN_OR_RETURN(dense.o, make(o));
      WINNOW_ASSIGN_OR_RETURN(dense.gate_up, make(gate_up));
      WINNOW_ASSIGN_OR_RETURN(dense.down, make(down));
      prepared.layers.push_back(std::move(dense));
    }
  }
  WINNOW_ASSIGN_OR_RETURN(m.final_norm_, weights.read("model.norm.weight", {h}));
  m.layer_parameter_count_ = weights.parameter_count() - before_layers;
  return decoder;
}

base::Status Decoder::validate(const TokenBatch& batch) const {
  return validate_token_batch(batch, vocab_size_, max_tokens_);
}

const Decoder::Prepared* Decoder::find(base::Precision precision) const {
  for (const Prepared& p : prepared_) {
    if (p.precision == precision) return &p;
  }
  return nullptr;
}

Decoder::PrefixEntry* Decoder::cached(std::span<const std::int32_t> ids, base::Precision precision) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->precision == precision && it->ids.size() == ids.size() &&
        std::equal(ids.begin(), ids.end(), it->ids.begin())) {
      cache_.splice(cache_.begin(), cache_, it);
      return &cache_.front();
    }
  }
  return nullptr;
}

base::Status Decoder::label_logits(const TokenBatch& batch, base::Precision precision, std::vector<float>& labels) {
  const Prepared* prepared = find(precision);
  if (prepared == nullptr) {
    return base::failed_precondition("decoder: precision " + std::string(base::precision_name(precision)) +
                                     " was not prepared");
  }
  const std::size_t n = batch.num_sequences();
  labels.assign(2 * n, 0.0f);
  if (n == 0) return {};

  // The prefixes: found in the cache, or computed now in one pass over the
  // missing ones. At least one token of each sequence stays its own: the
  // last one is what the head reads.
  Pass pass, capture;
  pass.prefix.assign(n, nullptr);
  std::vector<std::size_t> prefix(n, 0);
  for (std::size_t s = 0; s < n && reuse_ && !batch.prefix_lengths.empty(); ++s) {
    prefix[s] = std::min<std::size_t>(static_cast<std::size_t>(batch.prefix_lengths[s]), batch.length(s) - 1);
    if (prefix[s] == 0) continue;
    const std::span<const std::int32_t> ids(batch.input_ids.data() + batch.offsets[s], prefix[s]);
    PrefixEntry* entry = cached(ids, precision);
    if (entry != nullptr && entry->kv.empty()) {
      // Added by this call: its pass is already planned.
    } else if (entry != nullptr) {
      ++prefix_hits_;
    } else {
      cache_.push_front(PrefixEntry{precision, std::vector<std::int32_t>(ids.begin(), ids.end()), {}});
      entry = &cache_.front();
      const auto first = static_cast<std::int32_t>(capture.ids.size());
      for (std::size_t i = 0; i < ids.size(); ++i) {
        capture.ids.push_back(ids[i]);
        capture.positions.push_back(static_cast<std::int32_t>(i));
        capture.rows.push_back(first + static_cast<std::int32_t>(i));
      }
      capture.key_offsets.push_back(static_cast<std::int32_t>(capture.ids.size()));
      capture.last_tokens.push_back(static_cast<std::int32_t>(capture.ids.size()) - 1);
      capture.prefix.push_back(entry);
    }
    pass.prefix[s] = entry;
  }
  base::Status status;
  if (!capture.prefix.empty()) {
    for (PrefixEntry* entry : capture.prefix) {
      entry->kv.resize(prepared->layers.size() * entry->ids.size() * 2 * num_heads_ * head_dim_);
    }
    prefix_passes_ += capture.prefix.size();
    status = run(capture, *prepared, /*capture=*/true, nullptr);
  }
  if (status.ok()) {
    std::int32_t keys = 0;
    for (std::size_t s = 0; s < n; ++s) {
      const auto begin = static_cast<std::size_t>(batch.offsets[s]);
      const std::size_t length = batch.length(s);
      for (std::size_t i = prefix[s]; i < length; ++i) {
        pass.ids.push_back(batch.input_ids[begin + i]);
        pass.positions.push_back(static_cast<std::int32_t>(i));
        pass.rows.push_back(keys + static_cast<std::int32_t>(i));
      }
      keys += static_cast<std::int32_t>(length);
      pass.key_offsets.push_back(keys);
      pass.last_tokens.push_back(static_cast<std::int32_t>(pass.ids.size()) - 1);
      if (prefix[s] > 0) pass.dense_keys = false;
    }
    status = run(pass, *prepared, /*capture=*/false, &labels);
  }
  if (!status.ok()) {
    cache_.clear();  // entries may be half written
    return status;
  }
  while (cache_.size() > kCachedPrefixes) cache_.pop_back();
  return {};
}

base::Status Decoder::run(const Pass& pass, const Prepared& prepared, bool capture, std::vector<float>* labels) {
  const std::size_t tokens = pass.ids.size(), sequences = pass.key_offsets.size() - 1;
  const std::size_t h = hidden_, inter = intermediate_, hd = num_heads_ * head_dim_;
  const auto keys = static_cast<std::size_t>(pass.key_offsets.back());
  const std::size_t layers = prepared.layers.size();
  const base::Precision precision = prepared.precision;
  grow(x_, tokens * h);
  grow(normed_, tokens * h);
  grow(keys_, keys * 3 * hd);
  grow(attended_, keys * hd);
  grow(gathered_, tokens * hd);
  if (precision != base::Precision::kInt8) grow(gated_, tokens * 2 * inter);  // int8 finishes the GEMM's tiles
  grow(last_state_, sequences * h);
  input_.reserve(precision, tokens, h);
  context_.reserve(precision, tokens, hd);
  middle_.reserve(precision, tokens, inter);

  // Embeddings: rows of the mapped table, converted from its stored dtype.
  const std::size_t row_bytes = h * dtype_size(embed_->dtype);
  const auto count = static_cast<std::int64_t>(tokens);
#pragma omp parallel for schedule(static, 64)
  for (std::int64_t t = 0; t < count; ++t) {
    const auto id = static_cast<std::size_t>(pass.ids[static_cast<std::size_t>(t)]);
    convert_to_f32(embed_->dtype, embed_->bytes.data() + id * row_bytes, h, x_.data() + static_cast<std::size_t>(t) * h);
  }
  kernels::add_residual_rms_norm(nullptr, {}, x_.data(), tokens, h, norms_[0].input.data(), eps_, normed_.data(),
                                 &input_);
  kernels::GroupedQkvShape shape;
  shape.num_heads = num_heads_;
  shape.num_kv_heads = num_kv_heads_;
  shape.head_dim = head_dim_;
  shape.eps = eps_;
  shape.rotary = &rotary_;
  const std::size_t kv_floats = 2 * hd;  // one key row's k | v
  // A projection and the residual step after it, run on each tile of the
  // projection's output as the GEMM writes it (Linear::forward with a
  // TilePass): state += y, its RMSNorm to `normed` (the final norm over the
  // state itself), and into `next` as the next GEMM's input.
  auto project_residual = [&](const kernels::Linear& linear, const kernels::ActivationRows& in, float* state,
                              std::size_t rows, const float* gamma, float* normed,
                              kernels::ActivationRows* next) -> base::Status {
    const kernels::ActivationRows::Copies copies =
        next != nullptr ? next->copies_for(normed) : kernels::ActivationRows::Copies{};
    return linear.forward(in, rows, nullptr,
                          [&](float* y, const kernels::RowAffine& rest, std::size_t begin, std::size_t end) {
                            kernels::add_residual_rms_norm_tile(y, rest, state, begin, end, h, gamma, eps_, normed,
                                                                copies);
                          });
  };
  for (std::size_t l = 0; l < layers; ++l) {
    const Dense& d = prepared.layers[l];
    const Norms& norms = norms_[l];
    const bool last = l + 1 == layers;
    shape.q_gamma = norms.q.data();
    shape.k_gamma = norms.k.data();
    // q/k norms, rotary and the repeated key/value heads on each tile of the projection as the GEMM writes it.
    WINNOW_RETURN_IF_ERROR(d.qkv.forward(
        input_, tokens, nullptr, [&](float* y, const kernels::RowAffine& rest, std::size_t begin, std::size_t end) {
          kernels::grouped_qkv_tile(y, rest, begin, end, pass.positions, pass.rows, shape, keys_.data());
        }));
    for (std::size_t s = 0; s < sequences; ++s) {
      PrefixEntry* entry = pass.prefix[s];
      if (entry == nullptr) continue;
      const std::size_t length = entry->ids.size();
      float* cached_rows = entry->kv.data() + l * length * kv_floats;
      float* key_rows = keys_.data() + static_cast<std::size_t>(pass.key_offsets[s]) * 3 * hd + hd;
      for (std::size_t j = 0; j < length; ++j) {
        if (capture) {
          std::memcpy(cached_rows + j * kv_floats, key_rows + j * 3 * hd, kv_floats * sizeof(float));
        } else {
          std::memcpy(key_rows + j * 3 * hd, cached_rows + j * kv_floats, kv_floats * sizeof(float));
        }
      }
    }
    if (capture && last) break;  // a prefix needs no more than every layer's keys and values

    // From the last layer's attention on, only each sequence's last token
    // goes on (what the head reads).
    const bool head_rows = last && !capture;
    const std::size_t rows = head_rows ? sequences : tokens;
    // int8 whose context rows are the attention's own (no prefix, not the
    // last layer): attention quantizes each sequence's rows as it finishes
    // them, for the output projection.
    const bool quantized_context = precision == base::Precision::kInt8 && pass.dense_keys && !head_rows;
    kernels::AttentionRequest attention;
    attention.qkv = keys_.data();
    attention.offsets = pass.key_offsets;
    attention.causal = true;
    attention.bf16 = bf16_attention(attention_precision_, precision);
    attention.out = attended_.data();
    if (quantized_context) {
      const kernels::ActivationRows::Copies q = context_.copies_for(nullptr);
      attention.out_q = q.q;
      attention.out_scale = q.scale;
      attention.out_zero = q.zero;
    }
    attention.scratch = &attention_scratch_;
    WINNOW_RETURN_IF_ERROR(attention_.forward(attention));

    float* state = x_.data();
    if (head_rows) {
      for (std::size_t s = 0; s < sequences; ++s) {
        std::memcpy(gathered_.data() + s * hd,
                    attended_.data() + static_cast<std::size_t>(pass.key_offsets[s + 1] - 1) * hd, hd * sizeof(float));
        std::memcpy(last_state_.data() + s * h, x_.data() + static_cast<std::size_t>(pass.last_tokens[s]) * h,
                    h * sizeof(float));
      }
      context_.assign(gathered_.data(), sequences);
      state = last_state_.data();
    } else if (quantized_context) {
      // Written by attention.
    } else if (pass.dense_keys) {
      context_.assign(attended_.data(), tokens);
    } else {
#pragma omp parallel for schedule(static, 64)
      for (std::int64_t t = 0; t < count; ++t) {
        const auto i = static_cast<std::size_t>(t);
        std::memcpy(gathered_.data() + i * hd, attended_.data() + static_cast<std::size_t>(pass.rows[i]) * hd,
                    hd * sizeof(float));
      }
      context_.assign(gathered_.data(), tokens);
    }
    WINNOW_RETURN_IF_ERROR(project_residual(d.o, context_, state, rows, norms.post_attention.data(), normed_.data(),
                                            &input_));
    WINNOW_RETURN_IF_ERROR(
        kernels::gated_forward(d.gate_up, input_, rows, kernels::GateActivation::kSilu, gated_.data(), middle_));
    if (!last) {
      WINNOW_RETURN_IF_ERROR(project_residual(d.down, middle_, state, rows, norms_[l + 1].input.data(), normed_.data(),
                                              &input_));
    } else {
      WINNOW_RETURN_IF_ERROR(project_residual(d.down, middle_, state, rows, final_norm_.data(), state, nullptr));
    }
  }
  if (capture) return {};
  // The two label rows of lm_head on each last token's final state.
  for (std::size_t s = 0; s < sequences; ++s) {
    for (std::size_t k = 0; k < 2; ++k) {
      double dot = 0;
      for (std::size_t c = 0; c < h; ++c) {
        dot += static_cast<double>(last_state_[s * h + c]) * static_cast<double>(label_rows_[k * h + c]);
      }
      (*labels)[2 * s + k] = static_cast<float>(dot);
    }
  }
  return {};
}

}  // namespace winnow::model

#include "model/embeddings.h"

#include "kernels/layer_norm.h"

namespace winnow::model {

base::Result<Embeddings> Embeddings::load(const ModelConfig& config, const EncoderLayout& layout,
                                          const Checkpoint& checkpoint, WeightReader& weights) {
  Embeddings e;
  e.family_ = layout.family;
  e.hidden_ = config.hidden_size;
  e.vocab_size_ = config.vocab_size;
  e.type_vocab_size_ = config.type_vocab_size;
  e.pad_token_id_ = config.pad_token_id;
  e.eps_ = config.layer_norm_eps;
  WINNOW_ASSIGN_OR_RETURN(e.max_tokens_, model::max_tokens(config, layout.family, checkpoint.source().string()));
  const std::size_t h = config.hidden_size;
  WINNOW_ASSIGN_OR_RETURN(e.word_, weights.use_in_place(layout.word_embeddings(), {config.vocab_size, h}));
  e.word_file_ = checkpoint.shared_file_of(layout.word_embeddings());
  if (layout.family == Family::kModernBert) {
    // tok_embeddings, then a LayerNorm (bias per norm_bias): no position or type table.
    WINNOW_ASSIGN_OR_RETURN(e.layer_norm_, weights.layer_norm(layout.embeddings_layer_norm(), h, config.norm_bias));
    return e;
  }
  WINNOW_ASSIGN_OR_RETURN(e.position_,
                          weights.read(layout.position_embeddings(), {config.max_position_embeddings, h}));
  WINNOW_ASSIGN_OR_RETURN(e.token_type_, weights.read(layout.token_type_embeddings(), {config.type_vocab_size, h}));
  WINNOW_ASSIGN_OR_RETURN(e.layer_norm_, weights.layer_norm(layout.embeddings_layer_norm(), h));
  return e;
}

base::Status Embeddings::validate(const TokenBatch& batch) const {
  WINNOW_RETURN_IF_ERROR(validate_token_batch(batch, vocab_size_, max_tokens_));
  if (family_ == Family::kModernBert) return {};  // no token type table
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    for (std::int32_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      const std::int32_t type = batch.token_type_ids[static_cast<std::size_t>(t)];
      if (type < 0 || static_cast<std::size_t>(type) >= type_vocab_size_) {
        return base::invalid_argument("sequence " + std::to_string(s) + ": token " +
                                      std::to_string(t - batch.offsets[s]) + " has token type " +
                                      std::to_string(type) + "; the model has type_vocab_size " +
                                      std::to_string(type_vocab_size_));
      }
    }
  }
  return {};
}

void Embeddings::forward(const TokenBatch& batch, float* out, kernels::ActivationRows* next) const {
  const std::size_t h = hidden_;
  const std::size_t row_bytes = h * dtype_size(word_->dtype);
  const auto n = static_cast<std::int64_t>(batch.num_sequences());
  // A LayerNorm with a bias (BERT, XLM-R) normalises each sequence's rows,
  // and makes the next Linear's copies of them, while they are still in
  // cache; ModernBERT's bias-less norm runs over all rows at the end.
  const bool per_sequence_norm = layer_norm_.bias() != nullptr;
  const kernels::ActivationRows::Copies copies =
      next != nullptr && per_sequence_norm ? next->copies_for(out) : kernels::ActivationRows::Copies{};
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t s = 0; s < n; ++s) {
    const auto begin = static_cast<std::size_t>(batch.offsets[static_cast<std::size_t>(s)]);
    const auto end = static_cast<std::size_t>(batch.offsets[static_cast<std::size_t>(s) + 1]);
    std::size_t non_pad = 0;
    for (std::size_t t = begin; t < end; ++t) {
      // Word rows are scattered over a table far larger than the caches, where
      // no hardware prefetcher guesses the next one: ask for it a token ahead.
      if (t + 1 < end) {
        const std::uint8_t* ahead = word_->bytes.data() + static_cast<std::size_t>(batch.input_ids[t + 1]) * row_bytes;
        for (std::size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
      }
      const auto id = static_cast<std::size_t>(batch.input_ids[t]);
      std::size_t position = t - begin;
      if (family_ == Family::kRoberta) {
        // create_position_ids_from_input_ids: pad tokens keep padding_idx.
        if (batch.input_ids[t] != pad_token_id_) ++non_pad;
        position = static_cast<std::size_t>(pad_token_id_) + (batch.input_ids[t] != pad_token_id_ ? non_pad : 0);
      }
      float* row = out + t * h;
      convert_to_f32(word_->dtype, word_->bytes.data() + id * row_bytes, h, row);
      if (family_ == Family::kModernBert) continue;
      // Same order of additions as transformers: (word + type) + position.
      const float* type_row = token_type_.data() + static_cast<std::size_t>(batch.token_type_ids[t]) * h;
      const float* position_row = position_.data() + position * h;
      for (std::size_t c = 0; c < h; ++c) row[c] = (row[c] + type_row[c]) + position_row[c];
    }
    if (per_sequence_norm) {
      kernels::layer_norm_rows(out, begin, end, h, layer_norm_.gamma.data(), layer_norm_.bias(), eps_, copies);
    }
  }
  if (!per_sequence_norm) {
    kernels::add_residual_layer_norm(nullptr, {}, out, batch.num_tokens(), h, layer_norm_.gamma.data(), nullptr, eps_,
                                     out, next);
  }
}

}  // namespace winnow::model

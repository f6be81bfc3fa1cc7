// sentence-transformers' Pooling and Normalize modules: from the last hidden
// state of each sequence to one vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "base/status.h"

namespace winnow::model {

enum class PoolingMode {
  kCls,          // the first token ([CLS] / <s>)
  kMean,         // mean over all tokens of the sequence (special tokens included)
  kMax,          // element-wise max over the tokens
  kMeanSqrtLen,  // sum / sqrt(length)
  kLastToken,    // the last token
};

// "cls", "mean", "max", "mean_sqrt_len", "lasttoken".
std::string pooling_mode_name(PoolingMode mode);

// Reads a 1_Pooling/config.json (either the 5-key form of older
// sentence-transformers or the 8-key current one; missing keys mean false).
// Exactly one mode must be set; weighted-mean and combined modes are
// refused. word_embedding_dimension, when present, must equal `hidden`.
base::Result<PoolingMode> read_pooling_config(const std::filesystem::path& path, std::size_t hidden);

// out [sequences, hidden] from hidden_states [tokens, hidden] packed as
// `offsets` describes (every sequence non-empty). Parallel over sequences.
void pool(PoolingMode mode, const float* hidden_states, std::span<const std::int32_t> offsets, std::size_t hidden,
          float* out);

// Each row of x [rows, cols] divided by max(‖row‖₂, 1e-12), as
// torch.nn.functional.normalize.
void l2_normalize(float* x, std::size_t rows, std::size_t cols);

}  // namespace winnow::model

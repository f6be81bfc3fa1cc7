// The embedding block of BERT / XLM-R: word + token type + position
// embeddings, then LayerNorm. ModernBERT: the word embedding alone, then
// LayerNorm (its positions are rotary, applied in attention; token types are
// ignored, as the model has none).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "kernels/activation_rows.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/layout.h"
#include "model/token_batch.h"
#include "model/weights.h"

namespace winnow::model {

class Embeddings {
 public:
  // The word table is read in place from the mapped checkpoint (in its stored
  // dtype, converted per row); the small position and type tables are copied.
  static base::Result<Embeddings> load(const ModelConfig& config, const EncoderLayout& layout,
                                       const Checkpoint& checkpoint, WeightReader& weights);

  // Checks every sequence: 1..max_tokens() tokens, ids < vocab_size, type ids
  // < type_vocab_size (not for ModernBERT), and the batch's own consistency. Errors name the
  // sequence index (in batch order) and the offending token.
  base::Status validate(const TokenBatch& batch) const;

  // out [tokens, hidden] = LayerNorm(word[id] + type[type_id] + position[p]),
  // with p = 0, 1, ... (BERT) or pad+1, pad+2, ... over non-pad tokens
  // (XLM-R). The batch must have passed validate(). When `next` is set
  // (next->cols() == hidden), out's rows also become the first Linear's
  // input, as next->assign(out) makes them; a LayerNorm with a bias
  // normalises and converts each sequence's rows as soon as they are built,
  // while they are in cache.
  void forward(const TokenBatch& batch, float* out, kernels::ActivationRows* next = nullptr) const;

  std::size_t max_tokens() const { return max_tokens_; }

 private:
  Family family_ = Family::kBert;
  std::size_t hidden_ = 0;
  std::size_t vocab_size_ = 0;
  std::size_t type_vocab_size_ = 0;
  std::size_t max_tokens_ = 0;
  std::int32_t pad_token_id_ = 0;
  float eps_ = 1e-12f;
  std::shared_ptr<const SafetensorsFile> word_file_;  // keeps word_ mapped
  const TensorInfo* word_ = nullptr;                  // [vocab, hidden], stored dtype
  std::vector<float> position_;                       // [max_position_embeddings, hidden]
  std::vector<float> token_type_;                     // [type_vocab_size, hidden]
  LayerNormWeights layer_norm_;
};

}  // namespace winnow::model

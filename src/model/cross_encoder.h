// A Hugging Face cross-encoder (BertForSequenceClassification,
// XLMRobertaForSequenceClassification, incl. jina's flash-attention layout,
// ModernBertForSequenceClassification) that scores packed (query, document)
// token sequences; or a decoder reranker (Qwen3ForCausalLM, decoder.h) that
// scores packed prompts by their last token's yes/no logits.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "base/status.h"
#include "model/classification_head.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "model/load_options.h"
#include "model/model_info.h"
#include "model/token_batch.h"

namespace winnow::model {

class CrossEncoder {
 public:
  // Loads dir/config.json and dir/model.safetensors (or the sharded index).
  // The architecture must be one of BertForSequenceClassification,
  // XLMRobertaForSequenceClassification, RobertaForSequenceClassification,
  // ModernBertForSequenceClassification, with
  // num_labels 1 (a reranker's single relevance logit), or Qwen3ForCausalLM
  // (a decoder reranker; LoadOptions::label_token_ids must then be set);
  // anything else is refused with an error naming it.
  static base::Result<std::unique_ptr<CrossEncoder>> load(const std::filesystem::path& dir);
  // The same, with the dense layers prepared as `options` says (precisions).
  static base::Result<std::unique_ptr<CrossEncoder>> load(const std::filesystem::path& dir,
                                                          const LoadOptions& options);

  const ModelInfo& info() const { return info_; }

  // One raw logit per sequence, in batch order (no activation applied; see
  // info().declared_activation). Refuses the whole batch if a sequence is
  // invalid (id >= vocab_size, type id >= type_vocab_size, empty, longer than
  // info().max_tokens), naming the sequence index.
  // Non-const: it reuses the model's buffers between calls, so whoever holds
  // the model mutably is its one caller (inference::Scorer's worker, which
  // owns it). The const members may be called meanwhile from any thread.
  // Parallel inside with OpenMP (omp_get_max_threads()).
  base::Result<std::vector<float>> score(const TokenBatch& batch);
  // The same in `precision`, one of info().precisions (else FailedPrecondition).
  // The last layer computes only what the head reads (the first tokens),
  // except for ModernBERT's mean pooling, which reads every token.
  base::Result<std::vector<float>> score(const TokenBatch& batch, base::Precision precision);
  base::Precision default_precision() const { return info_.precision; }
  // From now on, score() adds its stage times to `profile` (nullptr: stop).
  // For benchmarks.
  void set_profile(EncoderProfile* profile) { workspace_.profile = profile; }
  // What score() checks before running: ids, type ids, lengths (see score()).
  base::Status validate(const TokenBatch& batch) const {
    return decoder_ ? decoder_->validate(batch) : encoder_.validate(batch);
  }

  // Decoder rerankers only: [sequences, 2] = the last token's logits of "no"
  // and "yes" (score() gives yes − no). FailedPrecondition for encoders.
  base::Result<std::vector<float>> label_logits(const TokenBatch& batch, base::Precision precision);
  // Decoder rerankers: whether declared shared prefixes are reused (the
  // default); see Decoder. No effect on encoders.
  void set_prefix_reuse(bool reuse) {
    if (decoder_) decoder_->set_prefix_reuse(reuse);
  }
  // The decoder, for tests and benchmarks; null for encoders.
  const Decoder* decoder() const { return decoder_.get(); }

 private:
  CrossEncoder() = default;
  static base::Result<std::unique_ptr<CrossEncoder>> load_decoder(const std::filesystem::path& dir,
                                                                  const ModelConfig& config,
                                                                  const LoadOptions& options);

  ModelInfo info_;
  Encoder encoder_;
  ClassificationHead head_;
  std::unique_ptr<Decoder> decoder_;  // set for decoder rerankers (then encoder_ and head_ are unused)
  std::vector<float> labels_;
  // Reused between score() calls.
  EncoderWorkspace workspace_;
  // ModernBERT's classifier_pooling "mean": the head reads the mean of every
  // token's last state, not the first token's.
  bool mean_pooling_ = false;
  std::vector<float> first_tokens_;
  std::vector<float> token_states_;
  std::vector<float> head_scratch_;
};

}  // namespace winnow::model

// A sentence-transformers bi-encoder (BertModel / XLMRobertaModel + Pooling
// [+ Normalize]) that embeds packed token sequences.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "base/status.h"
#include "model/encoder.h"
#include "model/load_options.h"
#include "model/model_info.h"
#include "model/pooling.h"
#include "model/token_batch.h"

namespace winnow::model {

class SentenceEmbedder {
 public:
  // Reads dir/modules.json (Transformer, Pooling, optional Normalize; other
  // modules such as Dense are refused), the Transformer's config.json and
  // weights, 1_Pooling/config.json and sentence_bert_config.json
  // (max_seq_length, exposed as info().max_seq_length). Without modules.json,
  // the directory is a plain Hugging Face encoder and gets mean pooling, no
  // normalisation, as SentenceTransformer does. Prompts are not known here, so
  // include_prompt has no effect.
  static base::Result<std::unique_ptr<SentenceEmbedder>> load(const std::filesystem::path& dir);
  // The same, with the dense layers prepared as `options` says (precisions).
  static base::Result<std::unique_ptr<SentenceEmbedder>> load(const std::filesystem::path& dir,
                                                              const LoadOptions& options);

  const ModelInfo& info() const { return info_; }

  // One embedding of hidden_size floats per sequence, in batch order. Same
  // validation as CrossEncoder::score. Non-const: it reuses the model's
  // buffers between calls, so whoever holds the model mutably is its one
  // caller (inference::Embedder's worker, which owns it). The const members
  // may be called meanwhile from any thread.
  base::Result<std::vector<std::vector<float>>> embed(const TokenBatch& batch);
  // The same in `precision`, one of info().precisions (else FailedPrecondition).
  base::Result<std::vector<std::vector<float>>> embed(const TokenBatch& batch, base::Precision precision);
  base::Precision default_precision() const { return encoder_.default_precision(); }
  // What embed() checks before running: ids, type ids, lengths.
  base::Status validate(const TokenBatch& batch) const { return encoder_.validate(batch); }

 private:
  SentenceEmbedder() = default;

  ModelInfo info_;
  Encoder encoder_;
  PoolingMode pooling_ = PoolingMode::kMean;
  bool normalize_ = false;
  // Reused between embed() calls.
  EncoderWorkspace workspace_;
  std::vector<float> hidden_;
  std::vector<float> pooled_;
};

}  // namespace winnow::model

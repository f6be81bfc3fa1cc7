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
  // validation as CrossEncoder::score. Thread-compatible: callers serialize.
  base::Result<std::vector<std::vector<float>>> embed(const TokenBatch& batch) const;
  // The same in `precision`, one of info().precisions (else FailedPrecondition).
  base::Result<std::vector<std::vector<float>>> embed(const TokenBatch& batch, base::Precision precision) const;

 private:
  SentenceEmbedder() = default;

  ModelInfo info_;
  Encoder encoder_;
  PoolingMode pooling_ = PoolingMode::kMean;
  bool normalize_ = false;
  mutable EncoderWorkspace workspace_;
  mutable std::vector<float> hidden_;
  mutable std::vector<float> pooled_;
};

}  // namespace winnow::model

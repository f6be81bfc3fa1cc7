// What a loaded model is, for the rooms above (`winnow models`, FLOP counts,
// limits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/precision.h"
#include "base/status.h"

namespace winnow::model {

struct ModelInfo {
  std::string architecture;  // "BertForSequenceClassification", "XLMRobertaModel", ...
  std::string layout;        // tensor layout: "bert", "xlm-roberta" or "jina-flash"
  std::size_t hidden_size = 0;
  std::size_t num_layers = 0;
  std::size_t num_heads = 0;
  std::size_t intermediate_size = 0;
  std::size_t vocab_size = 0;
  std::size_t type_vocab_size = 0;
  // Longest sequence the position table allows, special tokens included:
  // max_position_embeddings for BERT; max_position_embeddings - pad_token_id - 1
  // for XLM-R, whose positions start after the padding index (514 -> 512).
  std::size_t max_tokens = 0;
  std::int32_t pad_token_id = 0;
  std::string stored_dtype;  // checkpoint dtype of the weights: "F32", "BF16"; "BF16+F32" if mixed
  std::size_t parameter_count = 0;  // every weight used, embeddings and head included
  // Attention + FFN + LayerNorm weights of all encoder layers: the P of the
  // 2·P·L FLOPs per sequence of L tokens.
  std::size_t encoder_layer_parameter_count = 0;
  // Bytes of weights used at inference: the dense layers as prepared (in
  // every prepared precision: fp32, bf16 or int8, blocked for oneDNN), the
  // small fp32 tables (positions, token types, LayerNorms, head), and the word
  // embedding table, which is read in place from the mapped file in its
  // stored dtype (paged in on demand).
  std::size_t weight_bytes = 0;
  // The precision score() / embed() use by default, and every precision
  // prepared at load (the default first).
  base::Precision precision = base::Precision::kFp32;
  std::vector<base::Precision> precisions;
  // What attention runs on: "avx512", "avx2" or "onednn".
  std::string attention_kernel;
  // Cross-encoders: sentence-transformers' sbert_ce_default_activation_function
  // from config.json, e.g. "torch.nn.modules.linear.Identity" (raw logit).
  std::optional<std::string> declared_activation;
  // Sentence embedders: max_seq_length of sentence_bert_config.json, the pooling
  // mode ("cls", "mean", "max", "mean_sqrt_len", "lasttoken") and whether
  // embeddings are L2-normalised.
  std::optional<std::size_t> max_seq_length;
  std::optional<std::string> pooling;
  bool normalize = false;
  // Decoder rerankers (Qwen3-Reranker): the score is the last token's
  // logit("yes") − logit("no") after a prompt template (inference builds it),
  // and these are the label ids {no, yes}.
  bool decoder_reranker = false;
  std::int32_t no_token_id = -1;
  std::int32_t yes_token_id = -1;

  // OK when `precision` was prepared at load; otherwise FailedPrecondition
  // naming the prepared ones and how to prepare more.
  base::Status check_prepared(base::Precision precision) const;
};

}  // namespace winnow::model

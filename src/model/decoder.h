// A decoder LLM used as a reranker: Qwen3ForCausalLM (Qwen3-Reranker) with
// its language-model head cut down to the two label tokens. The relevance
// logit of a prompt is logit("yes") − logit("no") at its last token, so
// sigmoid(logit) is the model card's softmax([no, yes])[yes].
//
// The layer (transformers' Qwen3DecoderLayer), pre-norm with RMSNorm:
//   x = x + o_proj(attention(RMSNorm(x)))     attention: grouped-query, q and
//                                             k RMS-normalised per head, rotary
//                                             positions, causal
//   x = x + down(silu(gate(RMSNorm(x))) · up(RMSNorm(x)))
// then the final RMSNorm, and the two label rows of lm_head (embed_tokens
// when tied). The same kernels as the encoders' run it in every precision
// (kernels::Linear per precision, ActivationRows, the attention kernel with
// its causal option, rotary tables, the gated activation); this file holds
// only the decoder's own loop, because two things set it apart: the causal
// structure lets a prompt's shared prefix be computed once (below), and only
// the last token of each sequence reaches the head.
//
// Shared-prefix reuse. Every pair of one rerank request shares its prompt up
// to the document (system prompt, instruction, query). A sequence may declare
// how many of its leading tokens are such a prefix (TokenBatch::prefix_lengths).
// Under causal attention the keys and values of a token depend on the tokens
// before it only, so the prefix's keys and values, per layer, are computed
// once (a pass over the prefix alone), kept in a small cache keyed by the
// prefix's ids and the precision, and every sequence that starts with it runs
// only its own tokens through the GEMMs, attending to the cached prefix's
// keys and values. The result equals the pass without reuse up to the GEMMs'
// row blocking (the parity tests bound it by 1e-5).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include "base/huge_pages.h"
#include "base/status.h"
#include "kernels/activation_rows.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/rotary.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/load_options.h"
#include "model/model_info.h"
#include "model/token_batch.h"
#include "model/weights.h"

namespace winnow::model {

class Decoder {
 public:
  // Reads model.embed_tokens, config.num_hidden_layers layers, model.norm and
  // the label rows (`label_ids` = {no, yes}) of lm_head.weight, or of
  // embed_tokens when tie_word_embeddings; prepares the dense layers in each
  // of options.precisions. Errors name the file and tensor; a label id
  // outside the vocabulary is refused.
  static base::Result<std::unique_ptr<Decoder>> load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                     WeightReader& weights, const LoadOptions& options,
                                                     std::array<std::int32_t, 2> label_ids);

  // Every sequence 1..max_tokens() tokens, ids < vocab_size, prefix lengths
  // (when given) one per sequence and within it. Errors name the sequence.
  base::Status validate(const TokenBatch& batch) const;

  // labels [sequences, 2] = the last token's logits of "no" and "yes", in
  // `precision` (one of precisions()). The batch must have passed validate().
  // Not thread-safe: reuses buffers and the prefix cache between calls.
  base::Status label_logits(const TokenBatch& batch, base::Precision precision, std::vector<float>& labels);

  // Whether declared prefixes are reused (the default) or every sequence is
  // computed whole (for tests and benchmarks). Empties the prefix cache, so a
  // benchmark's next call pays for its prefix as a new request does. Not
  // thread-safe.
  void set_prefix_reuse(bool reuse) {
    reuse_ = reuse;
    cache_.clear();
  }
  // Prefix passes run so far (each a cache miss), and sequences that reused
  // a cached prefix: how tests see that reuse happened.
  std::size_t prefix_passes() const { return prefix_passes_; }
  std::size_t prefix_hits() const { return prefix_hits_; }

  std::size_t max_tokens() const { return max_tokens_; }
  std::size_t hidden_size() const { return hidden_; }
  std::size_t layer_parameter_count() const { return layer_parameter_count_; }
  const std::vector<base::Precision>& precisions() const { return precisions_; }
  std::string attention_kernel() const { return attention_.kernel_name(); }

 private:
  struct Dense {
    kernels::Linear qkv;      // [(Hq + 2·Hkv)·d, H]: rows q_proj; k_proj; v_proj
    kernels::Linear o;        // [H, Hq·d]
    kernels::Linear gate_up;  // [2I, H]: rows gate_proj; up_proj
    kernels::Linear down;     // [H, I]
  };
  struct Norms {
    std::vector<float> input, post_attention, q, k;  // [H], [H], [d], [d]
  };
  struct Prepared {
    base::Precision precision = base::Precision::kFp32;
    std::vector<Dense> layers;
  };
  // One prefix's keys and values, per layer: kv [layers][length][2 · Hq·d],
  // each row k | v as attention reads them (heads already repeated).
  struct PrefixEntry {
    base::Precision precision = base::Precision::kFp32;
    std::vector<std::int32_t> ids;
    std::vector<float> kv;
  };
  // What one pass over the layers computes: its tokens (the sequences' own,
  // after their prefixes) and where they sit among all the keys attention sees.
  struct Pass {
    std::vector<std::int32_t> ids;               // [tokens]
    std::vector<std::int32_t> positions;         // [tokens]: position in its sequence
    std::vector<std::int32_t> rows;              // [tokens]: row among the keys (prefix rows first)
    std::vector<std::int32_t> key_offsets{0};    // [sequences + 1]: each sequence's keys
    std::vector<std::int32_t> last_tokens;       // [sequences]: the last token's index in ids
    std::vector<PrefixEntry*> prefix;            // [sequences]: the cached prefix, or null
    bool dense_keys = true;                      // rows[t] == t for all t (no prefix)
  };

  // Runs `pass`. capture: fills prefix[s]->kv from the pass's own keys and
  // values (the pass holds whole prefixes, no cached ones) and stops after
  // the last layer's keys. Otherwise writes labels [sequences, 2].
  base::Status run(const Pass& pass, const Prepared& prepared, bool capture, std::vector<float>* labels);
  const Prepared* find(base::Precision precision) const;
  // The cached entry for ids[0, length) in `precision`, or null.
  PrefixEntry* cached(std::span<const std::int32_t> ids, base::Precision precision);

  std::size_t hidden_ = 0, intermediate_ = 0, num_heads_ = 0, num_kv_heads_ = 0, head_dim_ = 0;
  std::size_t vocab_size_ = 0, max_tokens_ = 0;
  float eps_ = 1e-6f;
  std::size_t layer_parameter_count_ = 0;
  std::shared_ptr<const SafetensorsFile> embed_file_;  // keeps embed_ mapped
  const TensorInfo* embed_ = nullptr;                  // [vocab, hidden], stored dtype
  std::vector<Norms> norms_;
  std::vector<float> final_norm_;                      // [H]
  std::vector<float> label_rows_;                      // [2, H]: lm_head rows of no, yes
  kernels::RotaryTable rotary_;
  kernels::Attention attention_;
  AttentionPrecision attention_precision_ = AttentionPrecision::kAuto;
  std::vector<Prepared> prepared_;
  std::vector<base::Precision> precisions_;

  bool reuse_ = true;
  std::list<PrefixEntry> cache_;  // most recently used first
  std::size_t prefix_passes_ = 0, prefix_hits_ = 0;

  // Buffers kept between calls.
  template <typename T>
  using Buffer = base::HugeVector<T>;
  Buffer<float> x_, normed_, keys_, attended_, gathered_, gated_, last_state_;
  std::vector<float> attention_scratch_;
  kernels::ActivationRows input_, context_, middle_;
};

}  // namespace winnow::model

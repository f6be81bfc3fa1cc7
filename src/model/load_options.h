// How a model's dense layers are prepared when it is loaded.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "kernels/attention.h"
#include "kernels/precision.h"

namespace winnow::model {

enum class AttentionPrecision { kAuto, kFp32, kBf16 };

struct LoadOptions {
  // The precisions whose weights are prepared, once, at load; the first is
  // the default of score() / embed(). Each must be supported by the CPU
  // (kernels::check_precision_supported); kAuto must be resolved before
  // (inference::resolve_precision). Every extra precision costs its weights'
  // memory: bge-reranker-v2-m3's layers take 1.2 GB in fp32, 0.6 GB in bf16,
  // 0.3 GB in int8.
  std::vector<base::Precision> precisions{base::Precision::kFp32};
  // Which attention code runs (the hand-written kernel unless told otherwise).
  kernels::AttentionKernel attention = kernels::AttentionKernel::kAuto;
  // The precision of attention's Q·Kᵀ and P·V (softmax is fp32 always).
  // kAuto: fp32 in fp32 and bf16 models; bf16 in int8 models where the CPU
  // has AVX512_BF16 (else fp32). bf16 scores move long sequences' softmax
  // enough to make a bf16 model's golden max |diff| worse than PyTorch's
  // autocast (0.145 against 0.098 on xlmr-ce-tiny-long), while in an int8
  // model, whose q and k come out of int8 GEMMs, the golden rankings and
  // deviations are the same either way, and bf16 attention is 1.5x faster.
  AttentionPrecision attention_precision = AttentionPrecision::kAuto;
  // Decoder rerankers (Qwen3ForCausalLM): the token ids of the labels whose
  // last-token logits make the score, {no, yes}, from the model's tokenizer
  // (the model room reads no tokenizer). Required for those models.
  std::optional<std::array<std::int32_t, 2>> label_token_ids;
};

// Whether a model of `precision` computes attention's dot products in bf16
// under `choice` (LoadOptions::attention_precision; kAuto: int8 models on a
// CPU with AVX512_BF16). Every model family follows this one rule.
bool bf16_attention(AttentionPrecision choice, base::Precision precision);

// Whether the CPU can run the kernels and every listed precision (each
// resolved, listed once): what every model's load checks first.
base::Status check_load_options(const LoadOptions& options);

}  // namespace winnow::model

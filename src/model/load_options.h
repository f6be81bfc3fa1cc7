// How a model's dense layers are prepared when it is loaded.
#pragma once

#include <vector>

#include "kernels/attention.h"
#include "kernels/precision.h"

namespace winnow::model {

struct LoadOptions {
  // The precisions whose weights are prepared, once, at load; the first is
  // the default of score() / embed(). Each must be supported by the CPU
  // (kernels::check_precision_supported); kAuto must be resolved before
  // (inference::resolve_precision). Every extra precision costs its weights'
  // memory: bge-reranker-v2-m3's layers take 1.2 GB in fp32, 0.6 GB in bf16,
  // 0.3 GB in int8.
  std::vector<kernels::Precision> precisions{kernels::Precision::kFp32};
  // Which attention code runs (the hand-written kernel unless told otherwise).
  kernels::AttentionKernel attention = kernels::AttentionKernel::kAuto;
  // bf16 and int8: compute attention (Q·Kᵀ and P·V) in bf16 where the CPU
  // has AVX512_BF16. Off by default: attention is a small share of the FLOPs
  // at reranking lengths, and bf16 scores move long sequences' softmax enough
  // to rank the golden xlmr-ce-tiny-long pairs worse than PyTorch's bf16
  // does (max |diff| 0.145 against its 0.098), while fp32 attention ranks
  // every golden query group at least as well as PyTorch.
  bool bf16_attention = false;
};

}  // namespace winnow::model

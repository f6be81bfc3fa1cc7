// What a model's options mean on this CPU and for this model: the precision
// `auto` and explicit precisions stand for, and the max_length a request gets.
// Shared by both engines (Scorer, Embedder) and the commands that tokenize.
#pragma once

#include <cstddef>
#include <optional>

#include "base/precision.h"
#include "base/status.h"

namespace winnow::inference {

// The max_length a request gets: `requested` when given, else `preferred`
// (the tokenizer's model_max_length, or a sentence-transformers model's
// max_seq_length), else the model's limit. A request above the model's limit
// (position embeddings) is InvalidArgument naming that limit.
base::Result<std::size_t> resolve_max_length(std::optional<std::size_t> requested,
                                             std::optional<std::size_t> preferred,
                                             std::size_t model_max_tokens);

// The precision `requested` means on this CPU. fp32 / bf16 / int8 are checked
// (FailedPrecondition naming the missing instruction set). kAuto is the
// fastest precision that met the agreement bar (Spearman ≥ 0.99 per query,
// identical top-10 for ≥ 99% of queries, against fp32) on the golden fixtures
// and on full-size MiniLM-L6 / jina-v2 / bge-m3 shapes: int8 where the CPU has
// AVX512_VNNI, else bf16 where it has AVX512_BF16, else fp32.
base::Result<base::Precision> resolve_precision(base::Precision requested);

}  // namespace winnow::inference

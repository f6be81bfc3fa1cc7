// The long-document options of a rerank request (chunking, truncation
// direction) read from JSON, one way for every caller: the HTTP APIs, the
// pipeline's rerank stage and the CLI, so that they accept the same values
// and name the same fields in their errors.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "rerankers/reranker.h"

namespace winnow::rerankers {

// Chunking's limits: a window of more tokens than any model's window, or more
// windows than this per document, is a mistake rather than a request.
inline constexpr std::size_t kMaxChunkTokens = 1 << 16;
inline constexpr std::size_t kMaxChunksPerDocument = 1000;

// {"max_tokens"?, "overlap"?, "max_chunks"?, "aggregate"?: "max" | "mean_top_k", "k"?}
// (every field optional, defaults as ChunkingOptions). InvalidArgument
// naming `where` and the field: "chunking.overlap: must be an integer from 0
// to 65535, got -1", an unknown field, or overlap not below max_tokens.
base::Result<ChunkingOptions> chunking_from_json(const nlohmann::json& value, std::string_view where);

// "right" or "left" (any case, as TEI accepts "Right"); InvalidArgument
// naming `where` otherwise.
base::Result<TruncationDirection> truncation_direction_from_json(const nlohmann::json& value, std::string_view where);
base::Result<TruncationDirection> parse_truncation_direction(std::string_view text, std::string_view where);

std::string_view truncation_direction_name(TruncationDirection direction);
std::string_view chunk_aggregate_name(ChunkAggregate aggregate);

}  // namespace winnow::rerankers

#include "rerankers/long_documents.h"

#include <algorithm>
#include <cctype>

namespace winnow::rerankers {
namespace {

base::Result<std::size_t> count(const nlohmann::json& value, const std::string& where, std::size_t min,
                                std::size_t max) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() < min || value.get<std::uint64_t>() > max) {
    return base::invalid_argument(where + ": must be an integer from " + std::to_string(min) + " to " +
                                  std::to_string(max) + ", got " + value.dump());
  }
  return static_cast<std::size_t>(value.get<std::uint64_t>());
}

}  // namespace

base::Result<ChunkingOptions> chunking_from_json(const nlohmann::json& value, std::string_view where_view) {
  const std::string where(where_view);
  if (!value.is_object()) {
    return base::invalid_argument(where + ": must be an object {\"max_tokens\", \"overlap\", \"max_chunks\", "
                                  "\"aggregate\", \"k\"}, got " + value.dump());
  }
  static const std::vector<std::string> kFields = {"max_tokens", "overlap", "max_chunks", "aggregate", "k"};
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (std::find(kFields.begin(), kFields.end(), it.key()) == kFields.end()) {
      return base::invalid_argument(where + ": unknown field \"" + it.key() +
                                    "\" (known: max_tokens, overlap, max_chunks, aggregate, k)");
    }
  }
  ChunkingOptions options;
  if (auto it = value.find("max_tokens"); it != value.end() && !it->is_null()) {
    WINNOW_ASSIGN_OR_RETURN(options.max_tokens, count(*it, where + ".max_tokens", 1, kMaxChunkTokens));
  }
  if (auto it = value.find("overlap"); it != value.end() && !it->is_null()) {
    WINNOW_ASSIGN_OR_RETURN(options.overlap, count(*it, where + ".overlap", 0, kMaxChunkTokens - 1));
  }
  if (auto it = value.find("max_chunks"); it != value.end() && !it->is_null()) {
    WINNOW_ASSIGN_OR_RETURN(options.max_chunks, count(*it, where + ".max_chunks", 1, kMaxChunksPerDocument));
  }
  if (auto it = value.find("aggregate"); it != value.end() && !it->is_null()) {
    if (*it == "max") {
      options.aggregate = ChunkAggregate::kMax;
    } else if (*it == "mean_top_k") {
      options.aggregate = ChunkAggregate::kMeanTopK;
    } else {
      return base::invalid_argument(where + ".aggregate: must be \"max\" or \"mean_top_k\", got " + it->dump());
    }
  }
  if (auto it = value.find("k"); it != value.end() && !it->is_null()) {
    if (options.aggregate != ChunkAggregate::kMeanTopK) {
      return base::invalid_argument(where + ".k: only with \"aggregate\": \"mean_top_k\"");
    }
    WINNOW_ASSIGN_OR_RETURN(options.top_k, count(*it, where + ".k", 1, kMaxChunksPerDocument));
  }
  if (options.max_tokens != 0 && options.overlap >= options.max_tokens) {
    return base::invalid_argument(where + ".overlap: " + std::to_string(options.overlap) +
                                  " tokens, must be smaller than max_tokens (" + std::to_string(options.max_tokens) +
                                  ")");
  }
  return options;
}

base::Result<TruncationDirection> parse_truncation_direction(std::string_view text, std::string_view where) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "right") return TruncationDirection::kRight;
  if (lower == "left") return TruncationDirection::kLeft;
  return base::invalid_argument(std::string(where) + ": must be \"right\" or \"left\", got \"" + std::string(text) +
                                "\"");
}

base::Result<TruncationDirection> truncation_direction_from_json(const nlohmann::json& value, std::string_view where) {
  if (!value.is_string()) {
    return base::invalid_argument(std::string(where) + ": must be \"right\" or \"left\", got " + value.dump());
  }
  return parse_truncation_direction(value.get_ref<const std::string&>(), where);
}

std::string_view truncation_direction_name(TruncationDirection direction) {
  return direction == TruncationDirection::kLeft ? "left" : "right";
}

std::string_view chunk_aggregate_name(ChunkAggregate aggregate) {
  return aggregate == ChunkAggregate::kMeanTopK ? "mean_top_k" : "max";
}

}  // namespace winnow::rerankers

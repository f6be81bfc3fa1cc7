// The memory a model's weights take, before and after it is loaded, and the
// limits the server keeps loaded models under.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/precision.h"
#include "base/status.h"

namespace winnow::registry {

// --max-loaded-models and --memory-budget. Unset: no limit. Remote (Cohere)
// models hold no weights and count against neither.
struct MemoryLimits {
  std::optional<std::size_t> max_loaded_models;
  std::optional<std::uint64_t> budget_bytes;
};

// "4096", "512K", "512M", "4G", "1T" (also "512MB", "512MiB", "1.5G"):
// bytes, with binary multiples (M = 2^20). InvalidArgument naming the text.
base::Result<std::uint64_t> parse_byte_size(std::string_view text);

// "8.0 MiB", "1.2 GiB", "512 B".
std::string format_bytes(std::uint64_t bytes);

// The weight bytes a model directory will take once loaded with its dense
// layers prepared in each of `precisions` (concrete ones: fp32, bf16, int8),
// from the safetensors headers alone (model.safetensors, or the shards of
// model.safetensors.index.json), as model::ModelInfo::weight_bytes measures
// them after loading:
//   - the word embedding table (*word_embeddings.weight) is read in place from
//     the mapped file: its stored bytes;
//   - each 2-D weight of an encoder layer (names with ".layer." or ".layers.")
//     and its bias are prepared once per precision: 4 bytes a parameter for
//     fp32, 2 for bf16, 1 for int8 plus an fp32 scale and compensation per
//     output row;
//   - everything else (position and token-type tables, LayerNorms, pooler,
//     head) is converted to fp32: 4 bytes a parameter.
// Tokenizers and activations are not counted. Errors (a header that is not
// safetensors, a tensor whose shape disagrees with its bytes) are
// InvalidArgument naming the file relative to `dir`.
base::Result<std::uint64_t> estimate_weight_bytes(const std::filesystem::path& dir,
                                                  std::span<const base::Precision> precisions);

}  // namespace winnow::registry

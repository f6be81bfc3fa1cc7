#include "model/pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/files.h"

namespace winnow::model {

std::string pooling_mode_name(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::kCls: return "cls";
    case PoolingMode::kMean: return "mean";
    case PoolingMode::kMax: return "max";
    case PoolingMode::kMeanSqrtLen: return "mean_sqrt_len";
    case PoolingMode::kLastToken: return "lasttoken";
  }
  return "unknown";
}

base::Result<PoolingMode> read_pooling_config(const std::filesystem::path& path, std::size_t hidden) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(path));
  const std::string where = path.string();
  if (!json.is_object()) return base::invalid_argument(where + ": expected a JSON object");
  auto flag = [&](const char* key) {
    auto it = json.find(key);
    return it != json.end() && it->is_boolean() && it->get<bool>();
  };
  if (auto it = json.find("word_embedding_dimension"); it != json.end() && it->is_number_integer() &&
                                                        it->get<std::int64_t>() != static_cast<std::int64_t>(hidden)) {
    return base::invalid_argument(where + ": word_embedding_dimension " + it->dump() + " differs from hidden_size " +
                                  std::to_string(hidden));
  }
  if (flag("pooling_mode_weightedmean_tokens")) {
    return base::unimplemented(where + ": pooling_mode_weightedmean_tokens is not supported");
  }
  struct Option {
    const char* key;
    PoolingMode mode;
  };
  constexpr Option kOptions[] = {{"pooling_mode_cls_token", PoolingMode::kCls},
                                 {"pooling_mode_mean_tokens", PoolingMode::kMean},
                                 {"pooling_mode_max_tokens", PoolingMode::kMax},
                                 {"pooling_mode_mean_sqrt_len_tokens", PoolingMode::kMeanSqrtLen},
                                 {"pooling_mode_lasttoken", PoolingMode::kLastToken}};
  int set = 0;
  PoolingMode mode = PoolingMode::kMean;
  for (const auto& option : kOptions) {
    if (flag(option.key)) {
      ++set;
      mode = option.mode;
    }
  }
  if (set == 0) return base::invalid_argument(where + ": no pooling mode is set");
  if (set > 1) return base::unimplemented(where + ": several pooling modes at once (concatenated) are not supported");
  return mode;
}

void pool(PoolingMode mode, const float* hidden_states, std::span<const std::int32_t> offsets, std::size_t hidden,
          float* out) {
  if (offsets.size() < 2) return;
  const auto n = static_cast<std::int64_t>(offsets.size() - 1);
#pragma omp parallel for schedule(static)
  for (std::int64_t s = 0; s < n; ++s) {
    const auto begin = static_cast<std::size_t>(offsets[static_cast<std::size_t>(s)]);
    const auto end = static_cast<std::size_t>(offsets[static_cast<std::size_t>(s) + 1]);
    float* o = out + static_cast<std::size_t>(s) * hidden;
    switch (mode) {
      case PoolingMode::kCls:
        std::copy_n(hidden_states + begin * hidden, hidden, o);
        break;
      case PoolingMode::kLastToken:
        std::copy_n(hidden_states + (end - 1) * hidden, hidden, o);
        break;
      case PoolingMode::kMax:
        std::copy_n(hidden_states + begin * hidden, hidden, o);
        for (std::size_t t = begin + 1; t < end; ++t) {
          for (std::size_t c = 0; c < hidden; ++c) o[c] = std::max(o[c], hidden_states[t * hidden + c]);
        }
        break;
      case PoolingMode::kMean:
      case PoolingMode::kMeanSqrtLen: {
        std::fill(o, o + hidden, 0.0f);
        for (std::size_t t = begin; t < end; ++t) {
          for (std::size_t c = 0; c < hidden; ++c) o[c] += hidden_states[t * hidden + c];
        }
        const auto count = static_cast<float>(end - begin);
        const float divisor = mode == PoolingMode::kMean ? count : std::sqrt(count);
        for (std::size_t c = 0; c < hidden; ++c) o[c] /= divisor;
        break;
      }
    }
  }
}

void l2_normalize(float* x, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    float squares = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) squares += row[c] * row[c];
    const float norm = std::max(std::sqrt(squares), 1e-12f);
    for (std::size_t c = 0; c < cols; ++c) row[c] /= norm;
  }
}

}  // namespace winnow::model

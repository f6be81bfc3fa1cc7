#include "registry/model_memory.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace winnow::registry {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;  // real headers are well under 1 MiB

std::optional<std::uint64_t> dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::uint64_t> kSizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"U16", 2}, {"I16", 2}, {"F16", 2},
      {"BF16", 2}, {"U32", 4}, {"I32", 4}, {"F32", 4},     {"U64", 8},     {"I64", 8}, {"F64", 8}};
  auto it = kSizes.find(dtype);
  if (it == kSizes.end()) return std::nullopt;
  return it->second;
}

struct Tensor {
  std::vector<std::uint64_t> shape;
  std::uint64_t elements = 0;
  std::uint64_t stored_bytes = 0;
};

// Reads one safetensors header: tensor name -> shape and stored bytes.
base::Status read_header(const fs::path& file, const std::string& where, std::map<std::string, Tensor>& tensors) {
  std::error_code ec;
  const std::uint64_t size = fs::file_size(file, ec);
  if (ec) return base::invalid_argument(where + ": cannot be read");
  std::ifstream in(file, std::ios::binary);
  unsigned char length_bytes[8];
  if (size < 8 || !in.read(reinterpret_cast<char*>(length_bytes), 8)) {
    return base::invalid_argument(where + ": " + std::to_string(size) + " bytes, too short for a safetensors header");
  }
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  if (header_length > size - 8 || header_length > kMaxHeaderBytes) {
    return base::invalid_argument(where + ": header length " + std::to_string(header_length) +
                                  " is beyond the file's " + std::to_string(size) + " bytes (not a safetensors file)");
  }
  std::string text(header_length, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_length))) {
    return base::invalid_argument(where + ": cannot be read");
  }
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json header, base::parse_json(text, where + ": header"));
  if (!header.is_object()) return base::invalid_argument(where + ": header is not a JSON object");
  const std::uint64_t data_bytes = size - 8 - header_length;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string at = where + ": tensor " + name;
    if (!entry.is_object()) return base::invalid_argument(at + ": not an object");
    auto dtype = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string() || shape == entry.end() || !shape->is_array() ||
        offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      return base::invalid_argument(at + ": needs \"dtype\", \"shape\" and \"data_offsets\" [begin, end]");
    }
    auto element_size = dtype_size(dtype->get<std::string>());
    if (!element_size) return base::invalid_argument(at + ": unknown dtype " + dtype->get<std::string>());
    Tensor t;
    t.elements = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) return base::invalid_argument(at + ": shape must hold non-negative integers");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim != 0 && t.elements > data_bytes / dim) {
        return base::invalid_argument(at + ": shape is larger than the file's data");
      }
      t.elements *= dim;
      t.shape.push_back(dim);
    }
    const std::uint64_t begin = (*offsets)[0].get<std::uint64_t>();
    const std::uint64_t end = (*offsets)[1].get<std::uint64_t>();
    if (begin > end || end > data_bytes || end - begin != t.elements * *element_size) {
      return base::invalid_argument(at + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                    "] do not match its shape and dtype within the file's " +
                                    std::to_string(data_bytes) + " data bytes");
    }
    t.stored_bytes = end - begin;
    tensors[name] = std::move(t);
  }
  return {};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_norm(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("norm") != std::string::npos;
}

bool in_encoder_layer(std::string_view name) {
  return name.find(".layer.") != std::string_view::npos || name.find(".layers.") != std::string_view::npos;
}

std::uint64_t dense_weight_bytes(std::uint64_t elements, std::uint64_t rows, base::Precision p) {
  switch (p) {
    case base::Precision::kBf16: return elements * 2;
    case base::Precision::kInt8: return elements + rows * 2 * sizeof(float);  // scale and compensation per row
    default: return elements * 4;
  }
}

}  // namespace

base::Result<std::uint64_t> parse_byte_size(std::string_view text) {
  const std::string original(text);
  auto bad = [&] {
    return base::invalid_argument("\"" + original + "\" is not a size in bytes (e.g. 4096, 512M, 4G)");
  };
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return bad();
  double number = 0;
  try {
    std::size_t used = 0;
    number = std::stod(std::string(text.substr(0, i)), &used);
    if (used != i) return bad();
  } catch (const std::exception&) {
    return bad();
  }
  std::string unit(text.substr(i));
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (ends_with(unit, "IB")) {
    unit.resize(unit.size() - 2);
  } else if (unit.size() > 1 && unit.back() == 'B') {
    unit.pop_back();
  }
  static const std::map<std::string, std::uint64_t> kMultiples = {
      {"", 1}, {"B", 1}, {"K", 1ull << 10}, {"M", 1ull << 20}, {"G", 1ull << 30}, {"T", 1ull << 40}};
  auto it = kMultiples.find(unit);
  if (it == kMultiples.end()) return bad();
  const double bytes = std::floor(number * static_cast<double>(it->second));
  if (!(bytes >= 1) || bytes > 9.0e18) return bad();
  return static_cast<std::uint64_t>(bytes);
}

std::string format_bytes(std::uint64_t bytes) {
  std::ostringstream out;
  if (bytes < (1ull << 10)) {
    out << bytes << " B";
    return out.str();
  }
  out << std::fixed << std::setprecision(1);
  if (bytes < (1ull << 20)) {
    out << static_cast<double>(bytes) / (1ull << 10) << " KiB";
  } else if (bytes < (1ull << 30)) {
    out << static_cast<double>(bytes) / (1ull << 20) << " MiB";
  } else {
    out << static_cast<double>(bytes) / (1ull << 30) << " GiB";
  }
  return out.str();
}

base::Result<std::uint64_t> estimate_weight_bytes(const fs::path& dir, std::span<const base::Precision> precisions) {
  std::map<std::string, Tensor> tensors;
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors", ec)) {
    WINNOW_RETURN_IF_ERROR(read_header(dir / "model.safetensors", "model.safetensors", tensors));
  } else if (fs::exists(dir / "model.safetensors.index.json", ec)) {
    WINNOW_ASSIGN_OR_RETURN(std::string text, base::read_file(dir / "model.safetensors.index.json"));
    WINNOW_ASSIGN_OR_RETURN(nlohmann::json index, base::parse_json(text, "model.safetensors.index.json"));
    auto map = index.is_object() ? index.find("weight_map") : index.end();
    if (!index.is_object() || map == index.end() || !map->is_object()) {
      return base::invalid_argument("model.safetensors.index.json: expected an object with a \"weight_map\" object");
    }
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : map->items()) {
      const std::string file = shard.is_string() ? shard.get<std::string>() : "";
      if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos ||
          file == "." || file == "..") {
        return base::invalid_argument("model.safetensors.index.json: weight_map[\"" + tensor +
                                      "\"] is not a file name in the model directory");
      }
      shards.insert(file);
    }
    for (const std::string& shard : shards) WINNOW_RETURN_IF_ERROR(read_header(dir / shard, shard, tensors));
  } else {
    return base::invalid_argument("no model.safetensors or model.safetensors.index.json (only safetensors "
                                  "checkpoints are supported)");
  }

  std::set<std::string> dense;  // prefixes of the encoder layers' dense weights
  for (const auto& [name, t] : tensors) {
    if (t.shape.size() == 2 && in_encoder_layer(name) && !is_norm(name) && ends_with(name, ".weight")) {
      dense.insert(name.substr(0, name.size() - 7));
    }
  }
  const std::size_t copies = precisions.empty() ? 1 : precisions.size();
  std::uint64_t total = 0;
  for (const auto& [name, t] : tensors) {
    if (ends_with(name, "word_embeddings.weight")) {
      total += t.stored_bytes;  // mapped in place
    } else if (ends_with(name, ".weight") && dense.count(name.substr(0, name.size() - 7))) {
      for (std::size_t i = 0; i < copies; ++i) {
        total += dense_weight_bytes(t.elements, t.shape[0], precisions.empty() ? base::Precision::kFp32 : precisions[i]);
      }
    } else if (ends_with(name, ".bias") && dense.count(name.substr(0, name.size() - 5))) {
      total += t.elements * sizeof(float) * copies;
    } else {
      total += t.elements * sizeof(float);
    }
  }
  return total;
}

}  // namespace winnow::registry

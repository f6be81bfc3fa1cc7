// Test-only: builds safetensors files and model directories (corrupt ones
// included) from in-memory tensors.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "model/test_util.h"

namespace winnow::model::testing {

struct RawTensor {
  std::string name;
  std::string dtype;  // as written in the header: "F32", "BF16", "I64", ...
  std::vector<std::size_t> shape;
  std::string bytes;
};

inline std::string f32_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// fp32 -> bf16 with round-to-nearest-even (finite inputs), as torch and
// make_checkpoint.py do.
inline std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  return static_cast<std::uint16_t>(u);
}

inline float bf16_round(float f) {
  const std::uint32_t u = static_cast<std::uint32_t>(to_bf16(f)) << 16;
  float out;
  std::memcpy(&out, &u, 4);
  return out;
}

inline std::string bf16_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 2, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint16_t h = to_bf16(values[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

// The safetensors encoding of `tensors`, in order, back to back. `header_patch`
// lets a test overwrite header fields after the honest header is built.
inline std::string safetensors_bytes(const std::vector<RawTensor>& tensors,
                                     const std::function<void(nlohmann::json&)>& header_patch = nullptr) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  if (header_patch) header_patch(header);
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  out += text;
  for (const auto& t : tensors) out += t.bytes;
  return out;
}

// Every tensor of a safetensors file, raw, in name order.
inline std::vector<RawTensor> read_raw_tensors(const std::filesystem::path& path) {
  auto file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  std::vector<RawTensor> out;
  if (!file.ok()) return out;
  for (const auto& [name, info] : (*file)->tensors()) {
    out.push_back({name, std::string(dtype_name(info.dtype)), info.shape,
                   std::string(reinterpret_cast<const char*>(info.bytes.data()), info.bytes.size())});
  }
  return out;
}

inline std::vector<float> as_floats(const RawTensor& t) {
  std::vector<float> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), v.size() * 4);
  return v;
}

inline RawTensor* find_tensor(std::vector<RawTensor>& tensors, const std::string& name) {
  for (auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// Copies a fixture model directory's config.json and model.safetensors.
inline void copy_model(const std::string& fixture, const std::filesystem::path& to) {
  std::filesystem::copy_file(model_dir(fixture) / "config.json", to / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(model_dir(fixture) / "model.safetensors", to / "model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline void write_json(const std::filesystem::path& path, const nlohmann::json& json) {
  write_text(path, json.dump(2));
}

}  // namespace winnow::model::testing

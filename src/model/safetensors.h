// Reading safetensors files: a little-endian u64 header length, a JSON header
// {name: {dtype, shape, data_offsets}}, then the tensor bytes.
//
// The file is memory-mapped; open() validates the whole header up front
// (lengths, offsets, overlaps, dtypes), so no later access can read outside
// the file whatever its contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"

namespace winnow::model {

// The dtypes the safetensors format defines.
enum class DType { kBool, kU8, kI8, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64, kF8E4M3, kF8E5M2 };

// "F32", "BF16", ... as written in safetensors headers.
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);
// True for F16, BF16, F32 and F64: the dtypes read_f32 converts.
bool is_float_dtype(DType dtype);

// "[2, 64]"
std::string shape_string(std::span<const std::size_t> shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::size_t> shape;
  std::span<const std::uint8_t> bytes;  // inside the mapping; size == numel · dtype_size

  std::size_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Errors name the file (and the tensor at fault).
  static base::Result<std::shared_ptr<const SafetensorsFile>> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  // nullptr if absent.
  const TensorInfo* find(std::string_view name) const;
  const std::map<std::string, TensorInfo, std::less<>>& tensors() const { return tensors_; }
  // The "__metadata__" entries, if any.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Lets the kernel drop the pages of `tensor` from memory (they stay readable
  // and are paged in again if read). For tensors copied at load.
  void release_pages(const TensorInfo& tensor) const;

 private:
  base::MappedFile file_;
  std::map<std::string, TensorInfo, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Converts `count` values of `dtype` at `src` (any alignment) to fp32.
// `dtype` must satisfy is_float_dtype().
void convert_to_f32(DType dtype, const std::uint8_t* src, std::size_t count, float* dst);

}  // namespace winnow::model

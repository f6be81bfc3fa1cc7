// safetensors files: the header (length, JSON, dtypes, shapes, offsets) is
// validated before anything is read, so whatever the bytes, open() gives a
// file whose every tensor lies inside the mapping, or an error.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <vector>

#include "fuzz_support.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  const std::filesystem::path path = fuzz::scratch_dir() / "model.safetensors";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto file = model::SafetensorsFile::open(path);
  if (!file.ok()) return 0;
  std::vector<float> values;
  for (const auto& [name, tensor] : (*file)->tensors()) {
    if (tensor.bytes.size() != tensor.numel() * model::dtype_size(tensor.dtype)) {
      fuzz::invariant_broken("tensor " + name + ": byte size does not match its shape");
    }
    if (!model::is_float_dtype(tensor.dtype) || tensor.numel() > (1u << 16)) continue;
    values.resize(tensor.numel());
    model::convert_to_f32(tensor.dtype, tensor.bytes.data(), tensor.numel(), values.data());
  }
  return 0;
}

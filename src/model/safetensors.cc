#include "model/safetensors.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace winnow::model {

namespace {

struct DTypeEntry {
  std::string_view name;
  DType dtype;
  std::size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {"BOOL", DType::kBool, 1}, {"U8", DType::kU8, 1},   {"I8", DType::kI8, 1},
    {"I16", DType::kI16, 2},   {"U16", DType::kU16, 2}, {"F16", DType::kF16, 2},
    {"BF16", DType::kBF16, 2}, {"I32", DType::kI32, 4}, {"U32", DType::kU32, 4},
    {"F32", DType::kF32, 4},   {"F64", DType::kF64, 8}, {"I64", DType::kI64, 8},
    {"U64", DType::kU64, 8},   {"F8_E4M3", DType::kF8E4M3, 1}, {"F8_E5M2", DType::kF8E5M2, 1},
};

const DTypeEntry* find_dtype(std::string_view name) {
  for (const auto& entry : kDTypes) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const DTypeEntry& entry_of(DType dtype) {
  for (const auto& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  return kDTypes[0];  // unreachable: every DType has an entry
}

// A non-negative JSON integer, or nullopt.
std::optional<std::uint64_t> as_u64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  std::uint32_t bits;
  if (exponent == 0x1Fu) {  // inf / nan
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // ±0
    bits = sign;
  } else {  // subnormal: normalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

std::string_view dtype_name(DType dtype) { return entry_of(dtype).name; }
std::size_t dtype_size(DType dtype) { return entry_of(dtype).size; }

bool is_float_dtype(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16 || dtype == DType::kF64;
}

std::string shape_string(std::span<const std::size_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::size_t TensorInfo::numel() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;  // cannot overflow: checked against the byte length at open
  return n;
}

void convert_to_f32(DType dtype, const std::uint8_t* src, std::size_t count, float* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, count * sizeof(float));
      return;
    case DType::kBF16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
      return;
    case DType::kF16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case DType::kF64:
      for (std::size_t i = 0; i < count; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        dst[i] = static_cast<float>(d);
      }
      return;
    default:
      std::fill(dst, dst + count, 0.0f);  // precondition violated; never reached from this room
  }
}

base::Result<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::open(const std::filesystem::path& path) {
  auto file = std::make_shared<SafetensorsFile>();
  WINNOW_ASSIGN_OR_RETURN(file->file_, base::MappedFile::open(path));
  const std::string where = path.string();
  const auto bytes = file->file_.bytes();
  if (bytes.size() < 8) {
    return base::data_loss(where + ": file is " + std::to_string(bytes.size()) +
                           " bytes, too short for a safetensors header");
  }
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | bytes[static_cast<std::size_t>(i)];
  if (header_length > bytes.size() - 8) {
    return base::data_loss(where + ": header length " + std::to_string(header_length) +
                           " is larger than the file (" + std::to_string(bytes.size()) + " bytes)");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data()) + 8, header_length);
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json header, base::parse_json(header_text, where + ": header"));
  if (!header.is_object()) return base::data_loss(where + ": header is not a JSON object");

  const std::span<const std::uint8_t> data = bytes.subspan(8 + header_length);
  struct Range {
    std::uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object()) {
        for (const auto& [key, value] : entry.items()) {
          if (value.is_string()) file->metadata_[key] = value.get<std::string>();
        }
      }
      continue;
    }
    const std::string what = where + ": tensor " + name;
    if (!entry.is_object()) return base::data_loss(what + ": entry is not an object");
    auto dtype_it = entry.find("dtype");
    auto shape_it = entry.find("shape");
    auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) return base::data_loss(what + ": missing dtype");
    if (shape_it == entry.end() || !shape_it->is_array()) return base::data_loss(what + ": missing shape");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
      return base::data_loss(what + ": data_offsets must be [begin, end]");
    }
    const std::string dtype_text = dtype_it->get<std::string>();
    const DTypeEntry* dtype = find_dtype(dtype_text);
    if (dtype == nullptr) return base::data_loss(what + " has unknown dtype \"" + dtype_text + "\"");

    TensorInfo info;
    info.name = name;
    info.dtype = dtype->dtype;
    std::uint64_t byte_length = dtype->size;
    bool overflow = false;
    for (const auto& dim : *shape_it) {
      auto d = as_u64(dim);
      if (!d) return base::data_loss(what + ": shape " + shape_it->dump() + " is not a list of sizes");
      info.shape.push_back(static_cast<std::size_t>(*d));
      overflow = overflow || __builtin_mul_overflow(byte_length, *d, &byte_length);
    }
    auto begin = as_u64((*offsets_it)[0]);
    auto end = as_u64((*offsets_it)[1]);
    if (!begin || !end || *begin > *end) {
      return base::data_loss(what + ": invalid data_offsets " + offsets_it->dump());
    }
    if (*end > data.size()) {
      return base::data_loss(what + ": data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                             "] are beyond the end of the file (data section is " + std::to_string(data.size()) +
                             " bytes)");
    }
    if (overflow || byte_length != *end - *begin) {
      return base::data_loss(what + ": " + std::to_string(*end - *begin) + " bytes of data for shape " +
                             shape_string(info.shape) + " and dtype " + dtype_text + ", expected " +
                             (overflow ? std::string("an impossible size") : std::to_string(byte_length)));
    }
    info.bytes = data.subspan(static_cast<std::size_t>(*begin), static_cast<std::size_t>(*end - *begin));
    auto inserted = file->tensors_.emplace(name, std::move(info));
    if (*end > *begin) ranges.push_back({*begin, *end, &inserted.first->first});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      return base::data_loss(where + ": tensors " + *ranges[i - 1].name + " and " + *ranges[i].name +
                             " overlap in the data section");
    }
  }
  return std::shared_ptr<const SafetensorsFile>(std::move(file));
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void SafetensorsFile::release_pages(const TensorInfo& tensor) const {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto begin = reinterpret_cast<std::uintptr_t>(tensor.bytes.data());
  auto end = begin + tensor.bytes.size();
  begin = (begin + page - 1) / page * page;  // only whole pages inside the tensor
  end = end / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace winnow::model

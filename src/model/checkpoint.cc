#include "model/checkpoint.h"

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace winnow::model {

namespace {

constexpr std::string_view kSingleFile = "model.safetensors";
constexpr std::string_view kIndexFile = "model.safetensors.index.json";

}  // namespace

base::Result<Checkpoint> Checkpoint::open(const std::filesystem::path& dir) {
  Checkpoint checkpoint;
  std::error_code ec;
  const std::filesystem::path single = dir / kSingleFile;
  const std::filesystem::path index = dir / kIndexFile;
  if (std::filesystem::exists(single, ec)) {
    WINNOW_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(single));
    for (const auto& [name, info] : file->tensors()) checkpoint.file_of_tensor_.emplace(name, 0);
    checkpoint.files_.push_back(std::move(file));
    checkpoint.source_ = single;
    return checkpoint;
  }
  if (!std::filesystem::exists(index, ec)) {
    return base::not_found(dir.string() + ": no " + std::string(kSingleFile) + " or " + std::string(kIndexFile) +
                           " (only safetensors checkpoints are supported)");
  }
  checkpoint.source_ = index;
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(index));
  const std::string where = index.string();
  auto map_it = json.is_object() ? json.find("weight_map") : json.end();
  if (!json.is_object() || map_it == json.end() || !map_it->is_object()) {
    return base::invalid_argument(where + ": expected an object with a \"weight_map\" object");
  }
  std::map<std::string, std::size_t> shard_index;
  for (const auto& [tensor, shard_value] : map_it->items()) {
    if (!shard_value.is_string()) {
      return base::invalid_argument(where + ": weight_map[\"" + tensor + "\"] is not a file name");
    }
    const std::string shard = shard_value.get<std::string>();
    // Shards live beside the index; refuse paths that would leave the model directory.
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
        shard == "." || shard == "..") {
      return base::invalid_argument(where + ": weight_map[\"" + tensor + "\"] = \"" + shard +
                                    "\" is not a file name in the model directory");
    }
    auto [it, inserted] = shard_index.emplace(shard, checkpoint.files_.size());
    if (inserted) {
      WINNOW_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(dir / shard));
      checkpoint.files_.push_back(std::move(file));
    }
    if (checkpoint.files_[it->second]->find(tensor) == nullptr) {
      return base::data_loss(where + ": tensor " + tensor + " is mapped to " + shard + ", which does not contain it");
    }
    checkpoint.file_of_tensor_.emplace(tensor, it->second);
  }
  return checkpoint;
}

const TensorInfo* Checkpoint::find(std::string_view name) const {
  auto it = file_of_tensor_.find(name);
  return it == file_of_tensor_.end() ? nullptr : files_[it->second]->find(name);
}

const SafetensorsFile* Checkpoint::file_of(std::string_view name) const {
  auto it = file_of_tensor_.find(name);
  return it == file_of_tensor_.end() ? nullptr : files_[it->second].get();
}

std::shared_ptr<const SafetensorsFile> Checkpoint::shared_file_of(std::string_view name) const {
  auto it = file_of_tensor_.find(name);
  return it == file_of_tensor_.end() ? nullptr : files_[it->second];
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(file_of_tensor_.size());
  for (const auto& [name, file] : file_of_tensor_) out.push_back(name);
  return out;
}

base::Result<const TensorInfo*> Checkpoint::expect(std::string_view name,
                                                   const std::vector<std::size_t>& shape) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) {
    return base::not_found(source_.string() + ": missing tensor " + std::string(name) + " (expected shape " +
                           shape_string(shape) + ")");
  }
  const std::string where = file_of(name)->path().string() + ": tensor " + std::string(name);
  if (!is_float_dtype(info->dtype)) {
    return base::invalid_argument(where + " has dtype " + std::string(dtype_name(info->dtype)) +
                                  ", expected a float dtype (F32, F16, BF16)");
  }
  if (info->shape != shape) {
    return base::invalid_argument(where + " has shape " + shape_string(info->shape) + ", expected " +
                                  shape_string(shape));
  }
  return info;
}

base::Result<FloatTensor> Checkpoint::read_f32(std::string_view name, const std::vector<std::size_t>& shape) const {
  WINNOW_ASSIGN_OR_RETURN(const TensorInfo* info, expect(name, shape));
  FloatTensor tensor;
  tensor.shape = info->shape;
  tensor.values.resize(info->numel());
  convert_to_f32(info->dtype, info->bytes.data(), tensor.values.size(), tensor.values.data());
  file_of(name)->release_pages(*info);
  return tensor;
}

}  // namespace winnow::model

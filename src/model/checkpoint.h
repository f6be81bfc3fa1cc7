// A model's weights as published: model.safetensors, or the shards listed in
// model.safetensors.index.json. Typed, validated access by tensor name.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/safetensors.h"

namespace winnow::model {

// A float tensor converted to fp32, row-major.
struct FloatTensor {
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

class Checkpoint {
 public:
  // Opens dir/model.safetensors, or else every shard named by
  // dir/model.safetensors.index.json ("weight_map": {tensor: file}).
  static base::Result<Checkpoint> open(const std::filesystem::path& dir);

  // The tensor and the file holding it; nullptr if absent.
  const TensorInfo* find(std::string_view name) const;
  const SafetensorsFile* file_of(std::string_view name) const;
  // The file holding `name`, kept alive by the returned pointer (for tensors
  // read in place after the checkpoint is gone, e.g. embedding tables).
  std::shared_ptr<const SafetensorsFile> shared_file_of(std::string_view name) const;
  // Names of every tensor, sorted.
  std::vector<std::string> names() const;

  // The tensor, checked to exist, to be a float dtype and to have `shape`.
  // Errors name the file and tensor, e.g. "model.safetensors: tensor
  // classifier.out_proj.weight has shape [2, 64], expected [1, 64]".
  base::Result<const TensorInfo*> expect(std::string_view name, const std::vector<std::size_t>& shape) const;

  // expect() + conversion to fp32. The tensor's pages in the mapping are
  // released afterwards: the copy is what the model keeps.
  base::Result<FloatTensor> read_f32(std::string_view name, const std::vector<std::size_t>& shape) const;

  // Where the weights came from, for messages: "…/model.safetensors" or the index file.
  const std::filesystem::path& source() const { return source_; }

 private:
  std::filesystem::path source_;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, std::size_t, std::less<>> file_of_tensor_;  // index into files_
};

}  // namespace winnow::model

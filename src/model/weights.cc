#include "model/weights.h"

namespace winnow::model {

void WeightReader::account(const TensorInfo& info, std::size_t bytes_kept) {
  parameter_count_ += info.numel();
  weight_bytes_ += bytes_kept;
  dtypes_.insert(std::string(dtype_name(info.dtype)));
}

base::Result<std::vector<float>> WeightReader::read(const std::string& name, const std::vector<std::size_t>& shape) {
  WINNOW_ASSIGN_OR_RETURN(FloatTensor tensor, checkpoint_.read_f32(name, shape));
  account(*checkpoint_.find(name), tensor.values.size() * sizeof(float));
  return std::move(tensor.values);
}

base::Result<const TensorInfo*> WeightReader::use_in_place(const std::string& name,
                                                           const std::vector<std::size_t>& shape) {
  WINNOW_ASSIGN_OR_RETURN(const TensorInfo* info, checkpoint_.expect(name, shape));
  account(*info, info->bytes.size());
  return info;
}

base::Result<kernels::Linear> WeightReader::linear(const std::string& prefix, std::size_t out, std::size_t in,
                                                   kernels::Epilogue epilogue) {
  WINNOW_ASSIGN_OR_RETURN(std::vector<float> weight, read(prefix + ".weight", {out, in}));
  WINNOW_ASSIGN_OR_RETURN(std::vector<float> bias, read(prefix + ".bias", {out}));
  // The prepared copy replaces the fp32 one read above (counted once).
  weight_bytes_ -= (weight.size() + bias.size()) * sizeof(float);
  WINNOW_ASSIGN_OR_RETURN(kernels::Linear layer, kernels::Linear::create(weight, bias, out, in, epilogue));
  weight_bytes_ += layer.weight_bytes();
  return layer;
}

base::Result<kernels::Linear> WeightReader::fused_linear(const std::vector<std::string>& prefixes,
                                                         std::size_t out_each, std::size_t in) {
  std::vector<float> weight, bias;
  weight.reserve(prefixes.size() * out_each * in);
  bias.reserve(prefixes.size() * out_each);
  for (const std::string& prefix : prefixes) {
    WINNOW_ASSIGN_OR_RETURN(std::vector<float> w, read(prefix + ".weight", {out_each, in}));
    WINNOW_ASSIGN_OR_RETURN(std::vector<float> b, read(prefix + ".bias", {out_each}));
    weight.insert(weight.end(), w.begin(), w.end());
    bias.insert(bias.end(), b.begin(), b.end());
    weight_bytes_ -= (w.size() + b.size()) * sizeof(float);
  }
  WINNOW_ASSIGN_OR_RETURN(kernels::Linear layer,
                          kernels::Linear::create(weight, bias, prefixes.size() * out_each, in));
  weight_bytes_ += layer.weight_bytes();
  return layer;
}

base::Result<LayerNormWeights> WeightReader::layer_norm(const std::string& prefix, std::size_t hidden) {
  const bool tf_names = checkpoint_.find(prefix + ".weight") == nullptr && checkpoint_.find(prefix + ".gamma") != nullptr;
  LayerNormWeights ln;
  WINNOW_ASSIGN_OR_RETURN(ln.gamma, read(prefix + (tf_names ? ".gamma" : ".weight"), {hidden}));
  WINNOW_ASSIGN_OR_RETURN(ln.beta, read(prefix + (tf_names ? ".beta" : ".bias"), {hidden}));
  return ln;
}

std::string WeightReader::stored_dtype() const {
  std::string out;
  for (const std::string& dtype : dtypes_) out += (out.empty() ? "" : "+") + dtype;
  return out;
}

}  // namespace winnow::model

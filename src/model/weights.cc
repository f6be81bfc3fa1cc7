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

base::Status WeightReader::expect_no_bias(const std::string& prefix) const {
  if (checkpoint_.find(prefix + ".bias") == nullptr) return {};
  return base::invalid_argument(checkpoint_.source().string() + ": tensor " + prefix +
                                ".bias is present, but config.json declares that layer without a bias");
}

base::Result<LinearWeights> WeightReader::read_linear(const std::string& prefix, std::size_t out, std::size_t in,
                                                      bool bias) {
  LinearWeights w;
  w.out = out;
  w.in = in;
  WINNOW_ASSIGN_OR_RETURN(w.weight, read(prefix + ".weight", {out, in}));
  if (bias) {
    WINNOW_ASSIGN_OR_RETURN(w.bias, read(prefix + ".bias", {out}));
  } else {
    WINNOW_RETURN_IF_ERROR(expect_no_bias(prefix));
  }
  weight_bytes_ -= (w.weight.size() + w.bias.size()) * sizeof(float);
  return w;
}

base::Result<LinearWeights> WeightReader::read_fused_linear(const std::vector<std::string>& prefixes,
                                                            std::size_t out_each, std::size_t in) {
  LinearWeights fused;
  fused.out = prefixes.size() * out_each;
  fused.in = in;
  fused.weight.reserve(fused.out * in);
  fused.bias.reserve(fused.out);
  for (const std::string& prefix : prefixes) {
    WINNOW_ASSIGN_OR_RETURN(LinearWeights part, read_linear(prefix, out_each, in));
    fused.weight.insert(fused.weight.end(), part.weight.begin(), part.weight.end());
    fused.bias.insert(fused.bias.end(), part.bias.begin(), part.bias.end());
  }
  return fused;
}

base::Result<kernels::Linear> WeightReader::prepare(const LinearWeights& weights, kernels::Epilogue epilogue,
                                                    base::Precision precision) {
  WINNOW_ASSIGN_OR_RETURN(kernels::Linear layer,
                          kernels::Linear::create(weights.weight, weights.bias, weights.out, weights.in, epilogue,
                                                  precision));
  weight_bytes_ += layer.weight_bytes();
  return layer;
}

base::Result<kernels::Linear> WeightReader::linear(const std::string& prefix, std::size_t out, std::size_t in,
                                                   kernels::Epilogue epilogue) {
  WINNOW_ASSIGN_OR_RETURN(LinearWeights weights, read_linear(prefix, out, in));
  return prepare(weights, epilogue, base::Precision::kFp32);
}

base::Result<kernels::Linear> WeightReader::linear(const std::string& prefix, std::size_t out, std::size_t in,
                                                   kernels::Epilogue epilogue, bool bias) {
  WINNOW_ASSIGN_OR_RETURN(LinearWeights weights, read_linear(prefix, out, in, bias));
  return prepare(weights, epilogue, base::Precision::kFp32);
}

base::Result<kernels::Linear> WeightReader::fused_linear(const std::vector<std::string>& prefixes,
                                                         std::size_t out_each, std::size_t in) {
  WINNOW_ASSIGN_OR_RETURN(LinearWeights weights, read_fused_linear(prefixes, out_each, in));
  return prepare(weights, kernels::Epilogue::kNone, base::Precision::kFp32);
}

base::Result<LayerNormWeights> WeightReader::layer_norm(const std::string& prefix, std::size_t hidden) {
  const bool tf_names = checkpoint_.find(prefix + ".weight") == nullptr && checkpoint_.find(prefix + ".gamma") != nullptr;
  LayerNormWeights ln;
  WINNOW_ASSIGN_OR_RETURN(ln.gamma, read(prefix + (tf_names ? ".gamma" : ".weight"), {hidden}));
  WINNOW_ASSIGN_OR_RETURN(ln.beta, read(prefix + (tf_names ? ".beta" : ".bias"), {hidden}));
  return ln;
}

base::Result<LayerNormWeights> WeightReader::layer_norm(const std::string& prefix, std::size_t hidden, bool bias) {
  if (bias) return layer_norm(prefix, hidden);
  LayerNormWeights ln;
  WINNOW_ASSIGN_OR_RETURN(ln.gamma, read(prefix + ".weight", {hidden}));
  WINNOW_RETURN_IF_ERROR(expect_no_bias(prefix));
  return ln;
}

std::string WeightReader::stored_dtype() const {
  std::string out;
  for (const std::string& dtype : dtypes_) out += (out.empty() ? "" : "+") + dtype;
  return out;
}

}  // namespace winnow::model

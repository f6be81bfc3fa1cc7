// Reading a model's weights out of a Checkpoint into kernel-ready form, and
// accounting for what was read (parameter count, stored dtypes, bytes kept).
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kernels/gemm.h"
#include "model/checkpoint.h"

namespace winnow::model {

struct LayerNormWeights {
  std::vector<float> gamma;  // [hidden]; empty: no norm here (an Identity, as ModernBERT's layer 0 attn_norm)
  std::vector<float> beta;   // [hidden]; empty: a LayerNorm without bias (bias=False)
  bool present() const { return !gamma.empty(); }
  const float* bias() const { return beta.empty() ? nullptr : beta.data(); }
};

// A torch.nn.Linear's weights read as fp32 copies, before preparation.
struct LinearWeights {
  std::vector<float> weight;  // [out, in]
  std::vector<float> bias;    // [out], or empty (bias=False)
  std::size_t out = 0;
  std::size_t in = 0;
};

// Not thread-safe; used during load only.
class WeightReader {
 public:
  explicit WeightReader(const Checkpoint& checkpoint) : checkpoint_(checkpoint) {}

  // `name`, of `shape`, as fp32.
  base::Result<std::vector<float>> read(const std::string& name, const std::vector<std::size_t>& shape);

  // A torch.nn.Linear stored as `prefix`.weight [out, in] and `prefix`.bias [out].
  base::Result<kernels::Linear> linear(const std::string& prefix, std::size_t out, std::size_t in,
                                       kernels::Epilogue epilogue = kernels::Epilogue::kNone);
  // The same for a Linear declared with bias=False when `bias` is false (the
  // checkpoint then must not hold `prefix`.bias either: a config that
  // disagrees with its weights is refused).
  base::Result<kernels::Linear> linear(const std::string& prefix, std::size_t out, std::size_t in,
                                       kernels::Epilogue epilogue, bool bias);

  // Several Linears over the same input fused into one: their weights stacked
  // along the output axis (e.g. query, key, value into one [3H, H] GEMM).
  base::Result<kernels::Linear> fused_linear(const std::vector<std::string>& prefixes, std::size_t out_each,
                                             std::size_t in);

  // The fp32 weights of `prefix`.weight / .bias (or of several Linears fused
  // along the output axis), to prepare in one or more precisions with
  // prepare(). Counted as parameters, not as bytes kept: the copies are
  // temporary (the checkpoint's pages are released as they are read).
  base::Result<LinearWeights> read_linear(const std::string& prefix, std::size_t out, std::size_t in,
                                          bool bias = true);
  base::Result<LinearWeights> read_fused_linear(const std::vector<std::string>& prefixes, std::size_t out_each,
                                                std::size_t in);
  // A Linear prepared from `weights` in `precision`; its bytes are counted.
  base::Result<kernels::Linear> prepare(const LinearWeights& weights, kernels::Epilogue epilogue,
                                        base::Precision precision);

  // A torch.nn.LayerNorm `prefix`.weight / .bias, [hidden]; also accepts the
  // .gamma / .beta names of TF-converted BERT checkpoints.
  base::Result<LayerNormWeights> layer_norm(const std::string& prefix, std::size_t hidden);
  // A LayerNorm with or without bias (bias=False: beta stays empty; a
  // checkpoint holding `prefix`.bias then is refused, as for linear()).
  base::Result<LayerNormWeights> layer_norm(const std::string& prefix, std::size_t hidden, bool bias);

  // Counts a tensor used in place (not copied), after checking it.
  base::Result<const TensorInfo*> use_in_place(const std::string& name, const std::vector<std::size_t>& shape);

  std::size_t parameter_count() const { return parameter_count_; }
  // Bytes of fp32 copies made so far, plus tensors used in place.
  std::size_t weight_bytes() const { return weight_bytes_; }
  // "F32", "BF16", or "BF16+F32" when the tensors read differ.
  std::string stored_dtype() const;

 private:
  void account(const TensorInfo& info, std::size_t bytes_kept);
  // InvalidArgument naming `prefix`.bias if the checkpoint holds it.
  base::Status expect_no_bias(const std::string& prefix) const;

  const Checkpoint& checkpoint_;
  std::size_t parameter_count_ = 0;
  std::size_t weight_bytes_ = 0;
  std::set<std::string> dtypes_;
};

}  // namespace winnow::model

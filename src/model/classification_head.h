// The sequence-classification head of BERT and XLM-R cross-encoders, on the
// first token ([CLS] / <s>): logits = out(tanh(dense(h₀))).
//   BERT:  dense = bert.pooler.dense, out = classifier
//   XLM-R: dense = classifier.dense,  out = classifier.out_proj
// (the same computation; dropout is inactive at inference).
// ModernBERT's head reads a pooled state (cls or mean, chosen by the model):
// logits = classifier(norm(gelu(head.dense(pooled)))), norm a LayerNorm.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/gemm.h"
#include "model/weights.h"

namespace winnow::model {

class ClassificationHead {
 public:
  static base::Result<ClassificationHead> load(WeightReader& weights, const std::string& dense,
                                               const std::string& out, std::size_t hidden, std::size_t num_labels);

  // ModernBERT: head.dense (bias per classifier_bias, exact GELU), head.norm
  // (bias per norm_bias, eps), classifier (with bias).
  static base::Result<ClassificationHead> load_modernbert(WeightReader& weights, const std::string& prefix,
                                                          std::size_t hidden, std::size_t num_labels, bool dense_bias,
                                                          bool norm_bias, float eps);

  // logits [rows, num_labels] from first-token states [rows, hidden].
  // `scratch` is grown as needed.
  base::Status forward(const float* first_tokens, std::size_t rows, std::vector<float>& scratch,
                       float* logits) const;

  std::size_t num_labels() const { return num_labels_; }

 private:
  kernels::Linear dense_;  // tanh fused (ModernBERT: GELU)
  LayerNormWeights norm_;  // ModernBERT's head.norm; absent for BERT / XLM-R
  float eps_ = 1e-5f;
  kernels::Linear out_;
  std::size_t hidden_ = 0;
  std::size_t num_labels_ = 0;
};

}  // namespace winnow::model

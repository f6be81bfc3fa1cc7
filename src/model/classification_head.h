// The sequence-classification head of BERT and XLM-R cross-encoders, on the
// first token ([CLS] / <s>): logits = out(tanh(dense(h₀))).
//   BERT:  dense = bert.pooler.dense, out = classifier
//   XLM-R: dense = classifier.dense,  out = classifier.out_proj
// (the same computation; dropout is inactive at inference).
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

  // logits [rows, num_labels] from first-token states [rows, hidden].
  // `scratch` is grown as needed.
  base::Status forward(const float* first_tokens, std::size_t rows, std::vector<float>& scratch,
                       float* logits) const;

  std::size_t num_labels() const { return num_labels_; }

 private:
  kernels::Linear dense_;  // tanh fused
  kernels::Linear out_;
  std::size_t hidden_ = 0;
  std::size_t num_labels_ = 0;
};

}  // namespace winnow::model

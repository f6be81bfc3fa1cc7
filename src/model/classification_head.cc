#include "model/classification_head.h"

namespace winnow::model {

base::Result<ClassificationHead> ClassificationHead::load(WeightReader& weights, const std::string& dense,
                                                          const std::string& out, std::size_t hidden,
                                                          std::size_t num_labels) {
  ClassificationHead head;
  head.hidden_ = hidden;
  head.num_labels_ = num_labels;
  WINNOW_ASSIGN_OR_RETURN(head.dense_, weights.linear(dense, hidden, hidden, kernels::Epilogue::kTanh));
  WINNOW_ASSIGN_OR_RETURN(head.out_, weights.linear(out, num_labels, hidden));
  return head;
}

base::Status ClassificationHead::forward(const float* first_tokens, std::size_t rows, std::vector<float>& scratch,
                                         float* logits) const {
  if (scratch.size() < rows * hidden_) scratch.resize(rows * hidden_);
  WINNOW_RETURN_IF_ERROR(dense_.forward(first_tokens, rows, scratch.data()));
  return out_.forward(scratch.data(), rows, logits);
}

}  // namespace winnow::model

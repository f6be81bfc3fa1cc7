#include "model/classification_head.h"

#include "kernels/layer_norm.h"

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

base::Result<ClassificationHead> ClassificationHead::load_modernbert(WeightReader& weights, const std::string& prefix,
                                                                     std::size_t hidden, std::size_t num_labels,
                                                                     bool dense_bias, bool norm_bias, float eps) {
  ClassificationHead head;
  head.hidden_ = hidden;
  head.num_labels_ = num_labels;
  head.eps_ = eps;
  WINNOW_ASSIGN_OR_RETURN(head.dense_, weights.linear(prefix + "head.dense", hidden, hidden,
                                                      kernels::Epilogue::kGeluErf, dense_bias));
  WINNOW_ASSIGN_OR_RETURN(head.norm_, weights.layer_norm(prefix + "head.norm", hidden, norm_bias));
  WINNOW_ASSIGN_OR_RETURN(head.out_, weights.linear(prefix + "classifier", num_labels, hidden));
  return head;
}

base::Status ClassificationHead::forward(const float* first_tokens, std::size_t rows, std::vector<float>& scratch,
                                         float* logits) const {
  if (scratch.size() < rows * hidden_) scratch.resize(rows * hidden_);
  WINNOW_RETURN_IF_ERROR(dense_.forward(first_tokens, rows, scratch.data()));
  if (norm_.present()) {
    kernels::add_residual_layer_norm(nullptr, {}, scratch.data(), rows, hidden_, norm_.gamma.data(), norm_.bias(), eps_,
                                     scratch.data());
  }
  return out_.forward(scratch.data(), rows, logits);
}

}  // namespace winnow::model

#include "rerankers/local_cross_encoder.h"

#include <algorithm>

#include "rerankers/ranking.h"

namespace winnow::rerankers {

base::Result<std::unique_ptr<LocalCrossEncoder>> LocalCrossEncoder::load(const std::filesystem::path& model_dir,
                                                                         const inference::ScorerOptions& options,
                                                                         std::string name, std::string revision) {
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<inference::Scorer> scorer, inference::Scorer::load(model_dir, options));
  return std::unique_ptr<LocalCrossEncoder>(
      new LocalCrossEncoder(model_dir, std::move(scorer), std::move(name), std::move(revision)));
}

base::Result<RerankOutcome> LocalCrossEncoder::rerank(std::string_view query, std::span<const std::string> documents,
                                                      std::size_t top_n, const RerankOptions& options) const {
  const kernels::Precision precision = options.precision.value_or(kernels::Precision::kAuto);
  if (precision != kernels::Precision::kAuto) {
    const std::vector<std::string>& prepared = scorer_->model().info().precisions;
    const std::string wanted(kernels::precision_name(precision));
    if (std::find(prepared.begin(), prepared.end(), wanted) == prepared.end()) {
      std::string list;
      for (const std::string& p : prepared) list += (list.empty() ? "" : ", ") + p;
      return base::failed_precondition("model \"" + name_ + "\" was loaded in " + list + ", not " + wanted +
                                       " (a models file entry's precision and extra_precisions choose what is prepared)");
    }
  }
  WINNOW_ASSIGN_OR_RETURN(std::vector<inference::PairScore> scores, scorer_->score(query, documents, precision));
  RerankOutcome outcome;
  std::vector<float> logits;
  logits.reserve(scores.size());
  for (const inference::PairScore& s : scores) {
    logits.push_back(s.logit);
    outcome.tokens_scored += s.tokens;
    if (s.truncated) ++outcome.documents_truncated;
  }
  outcome.documents_scored = scores.size();
  outcome.results = rank_by_logit(logits, top_n);
  outcome.model = name_;
  outcome.revision = revision_;
  outcome.precision = std::string(kernels::precision_name(
      precision == kernels::Precision::kAuto ? scorer_->precision() : precision));
  return outcome;
}

}  // namespace winnow::rerankers

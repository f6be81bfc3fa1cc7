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
  const base::Precision precision = options.precision.value_or(base::Precision::kAuto);
  if (precision != base::Precision::kAuto) {
    base::Status prepared = scorer_->model().info().check_prepared(precision);
    if (!prepared.ok()) return prepared.with_context("model \"" + name_ + "\"");
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
  outcome.precision = std::string(base::precision_name(
      precision == base::Precision::kAuto ? scorer_->precision() : precision));
  return outcome;
}

}  // namespace winnow::rerankers

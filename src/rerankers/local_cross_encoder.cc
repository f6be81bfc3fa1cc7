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
    base::Status prepared = scorer_->info().check_prepared(precision);
    if (!prepared.ok()) return prepared.with_context("model \"" + name_ + "\"");
  }
  std::vector<inference::PairText> pairs;
  pairs.reserve(documents.size());
  for (const std::string& document : documents) pairs.push_back({query, document});
  const std::vector<base::Result<inference::PairScore>> scores = scorer_->score_pairs(pairs, precision);
  RerankOutcome outcome;
  std::vector<float> logits;
  logits.reserve(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!scores[i].ok()) {
      return scores[i].status().with_context(options.document_name ? options.document_name(i)
                                                                   : "document " + std::to_string(i));
    }
    logits.push_back(scores[i]->logit);
    outcome.tokens_scored += scores[i]->tokens;
    if (scores[i]->truncated) ++outcome.documents_truncated;
  }
  outcome.documents_scored = scores.size();
  outcome.max_length = scorer_->max_length();
  outcome.results = rank_by_logit(logits, top_n);
  outcome.model = name_;
  outcome.revision = revision_;
  outcome.precision = std::string(base::precision_name(
      precision == base::Precision::kAuto ? scorer_->precision() : precision));
  return outcome;
}

}  // namespace winnow::rerankers

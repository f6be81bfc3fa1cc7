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
  inference::DocumentOptions document_options;
  document_options.precision = precision;
  document_options.direction = options.truncation_direction == TruncationDirection::kLeft
                                   ? inference::TruncationDirection::kLeft
                                   : inference::TruncationDirection::kRight;
  document_options.max_document_tokens = options.max_tokens_per_doc;
  document_options.truncate = options.truncate;
  if (options.instruction) {
    if (!scorer_->takes_instruction()) {
      return base::invalid_argument("instruction: model \"" + name_ +
                                    "\" takes no instruction (only decoder rerankers such as qwen3-reranker-0.6b do)");
    }
    document_options.instruction = options.instruction;
  }
  if (options.chunking) {
    const ChunkingOptions& c = *options.chunking;
    document_options.chunking = inference::ChunkOptions{
        c.max_tokens, c.overlap, c.max_chunks,
        c.aggregate == ChunkAggregate::kMeanTopK ? inference::ChunkAggregate::kMeanTopK : inference::ChunkAggregate::kMax,
        c.top_k};
  }
  const std::vector<base::Result<inference::DocumentScore>> scores =
      scorer_->score_documents(query, documents, document_options);
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
    outcome.chunks_scored += scores[i]->chunks;
    if (scores[i]->truncated) ++outcome.documents_truncated;
  }
  outcome.documents_scored = scores.size();
  outcome.max_length = scorer_->max_length();
  outcome.results = rank_by_logit(logits, top_n);
  if (options.chunking) {
    for (RankedDocument& ranked : outcome.results) {
      const inference::DocumentScore& score = *scores[ranked.index];
      ranked.chunk = BestChunk{score.best_chunk, score.chunks, score.chunk_begin_char, score.chunk_end_char};
    }
  }
  outcome.model = name_;
  outcome.revision = revision_;
  outcome.precision = std::string(base::precision_name(
      precision == base::Precision::kAuto ? scorer_->precision() : precision));
  return outcome;
}

}  // namespace winnow::rerankers

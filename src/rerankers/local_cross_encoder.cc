#include "rerankers/local_cross_encoder.h"

#include <algorithm>
#include <atomic>

#include "rerankers/ranking.h"

namespace winnow::rerankers {

// The score cache's key (score_cache.h) must hold every option that changes a
// score. These fail to compile when a field is added to either struct: decide
// whether it changes scores, add it to ScoreSettings / ScoreKeys if so, then
// update the size.
static_assert(sizeof(RerankOptions) == 160, "RerankOptions changed: update the score cache's key");
static_assert(sizeof(inference::DocumentOptions) == 120, "DocumentOptions changed: update the score cache's key");

namespace {
std::atomic<std::uint64_t> next_load{1};
}  // namespace

base::Result<std::unique_ptr<LocalCrossEncoder>> LocalCrossEncoder::load(const std::filesystem::path& model_dir,
                                                                         const inference::ScorerOptions& options,
                                                                         std::string name, std::string revision,
                                                                         std::shared_ptr<ScoreCache> score_cache) {
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<inference::Scorer> scorer, inference::Scorer::load(model_dir, options));
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::weakly_canonical(model_dir, ec);
  if (ec) absolute = model_dir;
  std::string identity = absolute.string();
  identity += revision.empty() ? "#load " + std::to_string(next_load.fetch_add(1)) : "@" + revision;
  return std::unique_ptr<LocalCrossEncoder>(new LocalCrossEncoder(model_dir, std::move(scorer), std::move(name),
                                                                  std::move(revision), std::move(score_cache),
                                                                  std::move(identity)));
}

std::vector<base::Result<inference::DocumentScore>> LocalCrossEncoder::score_cached(
    std::string_view query, std::span<const std::string> documents, const inference::DocumentOptions& options,
    base::Precision precision, ScoreCacheUse& use) const {
  ScoreSettings settings;
  settings.model = identity_;
  settings.revision = revision_;
  settings.precision = precision;
  settings.max_length = scorer_->max_length();
  settings.tokenizer_truncation = static_cast<int>(scorer_->options().truncation);
  settings.options = &options;
  settings.instruction = options.instruction ? std::string_view(*options.instruction) : scorer_->default_instruction();
  const ScoreKeys keys(settings, query);

  std::vector<std::optional<ScoreCache::Key>> key_of(documents.size());
  std::vector<std::optional<base::Result<inference::DocumentScore>>> found(documents.size());
  std::vector<std::size_t> missing;  // indices into documents
  for (std::size_t i = 0; i < documents.size(); ++i) {
    key_of[i] = keys.key(documents[i]);
    if (key_of[i]) {
      if (std::optional<inference::DocumentScore> hit = score_cache_->find(*key_of[i])) {
        found[i] = *hit;
        ++use.hits;
        continue;
      }
    }
    missing.push_back(i);
  }
  use.misses = missing.size();
  if (!missing.empty()) {
    std::vector<base::Result<inference::DocumentScore>> scored;
    if (missing.size() == documents.size()) {
      scored = scorer_->score_documents(query, documents, options);
    } else {
      std::vector<std::string> texts;
      texts.reserve(missing.size());
      for (std::size_t i : missing) texts.push_back(documents[i]);
      scored = scorer_->score_documents(query, texts, options);
    }
    for (std::size_t k = 0; k < missing.size(); ++k) {
      const std::size_t i = missing[k];
      // Errors are not stored: a deadline or a full queue says nothing of the pair.
      if (scored[k].ok() && key_of[i]) use.evictions += score_cache_->insert(*key_of[i], *scored[k]);
      found[i] = std::move(scored[k]);
    }
  }
  std::vector<base::Result<inference::DocumentScore>> out;
  out.reserve(documents.size());
  for (auto& f : found) out.push_back(std::move(*f));
  return out;
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
  RerankOutcome outcome;
  const base::Precision resolved = precision == base::Precision::kAuto ? scorer_->precision() : precision;
  std::vector<base::Result<inference::DocumentScore>> scores;
  if (score_cache_) {
    ScoreCacheUse use;
    scores = score_cached(query, documents, document_options, resolved, use);
    outcome.score_cache = use;
  } else {
    scores = scorer_->score_documents(query, documents, document_options);
  }
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
  outcome.precision = std::string(base::precision_name(resolved));
  return outcome;
}

}  // namespace winnow::rerankers

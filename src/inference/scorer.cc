#include "inference/scorer.h"

#include <cmath>
#include <string>

#include "inference/batching.h"

namespace winnow::inference {

double relevance_score(float logit) { return 1.0 / (1.0 + std::exp(-static_cast<double>(logit))); }

base::Result<std::size_t> resolve_max_length(std::optional<std::size_t> requested,
                                             std::optional<std::size_t> tokenizer_max_length,
                                             std::size_t model_max_tokens) {
  if (requested) {
    if (*requested == 0) return base::invalid_argument("max_length must be at least 1");
    if (*requested > model_max_tokens) {
      return base::invalid_argument("max_length " + std::to_string(*requested) + " exceeds the model's limit of " +
                                    std::to_string(model_max_tokens) + " tokens (its position embeddings)");
    }
    return *requested;
  }
  if (tokenizer_max_length && *tokenizer_max_length > 0 && *tokenizer_max_length < model_max_tokens) {
    return *tokenizer_max_length;
  }
  return model_max_tokens;
}

base::Result<std::unique_ptr<Scorer>> Scorer::create(std::shared_ptr<const text::Tokenizer> tokenizer,
                                                     std::shared_ptr<const model::CrossEncoder> model,
                                                     const ScorerOptions& options) {
  WINNOW_ASSIGN_OR_RETURN(std::size_t max_length,
                          resolve_max_length(options.max_length, tokenizer->model_max_length(),
                                             model->info().max_tokens));
  std::size_t specials = tokenizer->special_tokens_count(/*pair=*/true);
  if (max_length <= specials) {
    return base::invalid_argument("max_length " + std::to_string(max_length) + " leaves no room for text: a pair takes " +
                                  std::to_string(specials) + " special tokens");
  }
  return std::unique_ptr<Scorer>(new Scorer(std::move(tokenizer), std::move(model), options, max_length));
}

base::Result<std::unique_ptr<Scorer>> Scorer::load(const std::filesystem::path& model_dir,
                                                   const ScorerOptions& options) {
  WINNOW_ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::load_dir(model_dir));
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<model::CrossEncoder> model, model::CrossEncoder::load(model_dir));
  return create(std::make_shared<const text::Tokenizer>(std::move(tokenizer)),
                std::shared_ptr<const model::CrossEncoder>(std::move(model)), options);
}

Scorer::Scorer(std::shared_ptr<const text::Tokenizer> tokenizer, std::shared_ptr<const model::CrossEncoder> model,
               const ScorerOptions& options, std::size_t max_length)
    : tokenizer_(std::move(tokenizer)), model_(std::move(model)), options_(options), max_length_(max_length) {}

std::vector<base::Result<PairScore>> Scorer::score_pairs(std::span<const PairText> pairs) const {
  const std::size_t n = pairs.size();
  std::vector<std::optional<text::Encoding>> encodings(n);
  std::vector<base::Status> errors(n);

  // Tokenizers are const and thread-safe: encode pairs on all cores.
#pragma omp parallel for schedule(dynamic, 4)
  for (std::size_t i = 0; i < n; ++i) {
    auto encoding = tokenizer_->encode_pair(pairs[i].query, pairs[i].document, max_length_, options_.truncation);
    if (encoding.ok()) {
      encodings[i] = std::move(encoding).value();
    } else {
      errors[i] = encoding.status();
    }
  }

  std::vector<const text::Encoding*> to_score(n, nullptr);
  for (std::size_t i = 0; i < n; ++i) {
    if (encodings[i]) to_score[i] = &*encodings[i];
  }
  std::vector<float> logits(n, 0.0f);
  run_in_batches(to_score, options_.batch_limits,
                 [&](const model::TokenBatch& batch, std::span<const std::size_t> items) -> base::Status {
                   base::Result<std::vector<float>> batch_logits = [&] {
                     std::lock_guard<std::mutex> lock(model_mutex_);
                     return model_->score(batch);
                   }();
                   for (std::size_t k = 0; k < items.size(); ++k) {
                     if (batch_logits.ok()) {
                       logits[items[k]] = (*batch_logits)[k];
                     } else {
                       errors[items[k]] = batch_logits.status();
                     }
                   }
                   return batch_logits.status();
                 })
      .ignore_error();  // per-pair errors were recorded above

  std::vector<base::Result<PairScore>> results;
  results.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!errors[i].ok()) {
      results.emplace_back(errors[i]);
    } else {
      results.emplace_back(PairScore{logits[i], encodings[i]->ids.size(), encodings[i]->truncated});
    }
  }
  return results;
}

base::Result<std::vector<PairScore>> Scorer::score(std::string_view query,
                                                   std::span<const std::string> documents) const {
  std::vector<PairText> pairs;
  pairs.reserve(documents.size());
  for (const std::string& document : documents) pairs.push_back({query, document});
  std::vector<base::Result<PairScore>> results = score_pairs(pairs);
  std::vector<PairScore> scores;
  scores.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) return results[i].status().with_context("document " + std::to_string(i));
    scores.push_back(*results[i]);
  }
  return scores;
}

}  // namespace winnow::inference

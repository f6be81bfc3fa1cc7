#include "inference/scorer.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace winnow::inference {

namespace {

// A cross-encoder as an engine's model: one logit per pair.
class CrossEncoderModel final : public EngineModel {
 public:
  explicit CrossEncoderModel(std::unique_ptr<model::CrossEncoder> model) : model_(std::move(model)) {}

  const model::ModelInfo& info() const override { return model_->info(); }
  std::size_t output_width() const override { return 1; }
  base::Status validate(const model::TokenBatch& batch) const override { return model_->validate(batch); }
  base::Status run(const model::TokenBatch& batch, base::Precision precision, std::span<float> out) override {
    WINNOW_ASSIGN_OR_RETURN(std::vector<float> logits, model_->score(batch, precision));
    std::copy(logits.begin(), logits.end(), out.begin());
    return {};
  }

 private:
  std::unique_ptr<model::CrossEncoder> model_;
};

}  // namespace

double relevance_score(float logit) { return 1.0 / (1.0 + std::exp(-static_cast<double>(logit))); }

base::Result<std::unique_ptr<Scorer>> Scorer::create(std::unique_ptr<const text::Tokenizer> tokenizer,
                                                     std::unique_ptr<model::CrossEncoder> model,
                                                     const ScorerOptions& options) {
  WINNOW_ASSIGN_OR_RETURN(std::size_t max_length,
                          resolve_max_length(options.max_length, tokenizer->model_max_length(),
                                             model->info().max_tokens));
  std::size_t specials = tokenizer->special_tokens_count(/*pair=*/true);
  if (max_length <= specials) {
    return base::invalid_argument("max_length " + std::to_string(max_length) + " leaves no room for text: a pair takes " +
                                  std::to_string(specials) + " special tokens");
  }
  std::vector<base::Precision> wanted = options.extra_precisions;
  wanted.push_back(options.precision);
  for (base::Precision p : wanted) {
    if (p != base::Precision::kAuto) WINNOW_RETURN_IF_ERROR(model->info().check_prepared(p));
  }
  return std::unique_ptr<Scorer>(new Scorer(std::move(tokenizer), std::move(model), options, max_length));
}

base::Result<std::unique_ptr<Scorer>> Scorer::load(const std::filesystem::path& model_dir,
                                                   const ScorerOptions& options) {
  model::LoadOptions load;
  load.precisions.clear();
  std::vector<base::Precision> requested{options.precision};
  requested.insert(requested.end(), options.extra_precisions.begin(), options.extra_precisions.end());
  for (base::Precision p : requested) {
    WINNOW_ASSIGN_OR_RETURN(base::Precision resolved, resolve_precision(p));
    if (std::find(load.precisions.begin(), load.precisions.end(), resolved) == load.precisions.end()) {
      load.precisions.push_back(resolved);
    }
  }
  WINNOW_ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::load_dir(model_dir));
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<model::CrossEncoder> model, model::CrossEncoder::load(model_dir, load));
  ScorerOptions resolved = options;
  resolved.precision = load.precisions.front();
  resolved.extra_precisions.assign(load.precisions.begin() + 1, load.precisions.end());
  return create(std::make_unique<const text::Tokenizer>(std::move(tokenizer)), std::move(model), resolved);
}

Scorer::Scorer(std::unique_ptr<const text::Tokenizer> tokenizer, std::unique_ptr<model::CrossEncoder> model,
               const ScorerOptions& options, std::size_t max_length)
    : tokenizer_(std::move(tokenizer)),
      options_(options),
      max_length_(max_length),
      engine_(std::make_unique<CrossEncoderModel>(std::move(model)), options) {}

std::vector<base::Result<PairScore>> Scorer::score_pairs(std::span<const PairText> pairs) const {
  return score_pairs(pairs, base::Precision::kAuto);
}

std::vector<base::Result<PairScore>> Scorer::score_pairs(std::span<const PairText> pairs,
                                                         base::Precision precision) const {
  // Tokenizers are const and thread-safe.
  const EngineResults run = engine_.run(
      pairs.size(),
      [&](std::size_t i) {
        return tokenizer_->encode_pair(pairs[i].query, pairs[i].document, max_length_, options_.truncation);
      },
      precision);
  std::vector<base::Result<PairScore>> results;
  results.reserve(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (!run.errors[i].ok()) {
      results.emplace_back(run.errors[i]);
    } else {
      results.emplace_back(PairScore{run.output(i)[0], run.encodings[i]->ids.size(), run.encodings[i]->truncated});
    }
  }
  return results;
}

base::Result<std::vector<PairScore>> Scorer::score(std::string_view query,
                                                   std::span<const std::string> documents) const {
  return score(query, documents, base::Precision::kAuto);
}

base::Result<std::vector<PairScore>> Scorer::score(std::string_view query, std::span<const std::string> documents,
                                                   base::Precision precision) const {
  std::vector<PairText> pairs;
  pairs.reserve(documents.size());
  for (const std::string& document : documents) pairs.push_back({query, document});
  std::vector<base::Result<PairScore>> results = score_pairs(pairs, precision);
  std::vector<PairScore> scores;
  scores.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) return results[i].status().with_context("document " + std::to_string(i));
    scores.push_back(*results[i]);
  }
  return scores;
}

}  // namespace winnow::inference

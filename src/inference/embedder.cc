#include "inference/embedder.h"

#include <algorithm>
#include <string>

namespace winnow::inference {

namespace {

// A sentence embedder as an engine's model: hidden_size floats per text.
class SentenceEmbedderModel final : public EngineModel {
 public:
  explicit SentenceEmbedderModel(std::unique_ptr<model::SentenceEmbedder> model) : model_(std::move(model)) {}

  const model::ModelInfo& info() const override { return model_->info(); }
  std::size_t output_width() const override { return model_->info().hidden_size; }
  base::Status validate(const model::TokenBatch& batch) const override { return model_->validate(batch); }
  base::Status run(const model::TokenBatch& batch, base::Precision precision, std::span<float> out) override {
    WINNOW_ASSIGN_OR_RETURN(std::vector<std::vector<float>> vectors, model_->embed(batch, precision));
    const std::size_t width = output_width();
    for (std::size_t k = 0; k < vectors.size(); ++k) {
      std::copy(vectors[k].begin(), vectors[k].end(), out.begin() + k * width);
    }
    return {};
  }

 private:
  std::unique_ptr<model::SentenceEmbedder> model_;
};

}  // namespace

base::Result<std::unique_ptr<Embedder>> Embedder::load(const std::filesystem::path& model_dir,
                                                       const EmbedderOptions& options) {
  WINNOW_ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::load_dir(model_dir));
  model::LoadOptions load;
  WINNOW_ASSIGN_OR_RETURN(base::Precision precision, resolve_precision(options.precision));
  load.precisions = {precision};
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<model::SentenceEmbedder> model,
                          model::SentenceEmbedder::load(model_dir, load));
  std::optional<std::size_t> preferred = model->info().max_seq_length;
  if (!preferred) preferred = tokenizer.model_max_length();
  WINNOW_ASSIGN_OR_RETURN(std::size_t max_length,
                          resolve_max_length(options.max_length, preferred, model->info().max_tokens));
  if (max_length <= tokenizer.special_tokens_count(/*pair=*/false)) {
    return base::invalid_argument("max_length " + std::to_string(max_length) + " leaves no room for text");
  }
  EmbedderOptions resolved = options;
  resolved.precision = precision;
  return std::unique_ptr<Embedder>(new Embedder(std::make_unique<const text::Tokenizer>(std::move(tokenizer)),
                                                std::move(model), resolved, max_length));
}

Embedder::Embedder(std::unique_ptr<const text::Tokenizer> tokenizer, std::unique_ptr<model::SentenceEmbedder> model,
                   const EmbedderOptions& options, std::size_t max_length)
    : tokenizer_(std::move(tokenizer)),
      options_(options),
      max_length_(max_length),
      engine_(std::make_unique<SentenceEmbedderModel>(std::move(model)), options) {}

base::Result<std::vector<std::vector<float>>> Embedder::embed(std::span<const std::string> texts) const {
  // Tokenizers are const and thread-safe.
  const EngineResults run = engine_.run(
      texts.size(), [&](std::size_t i) { return tokenizer_->encode(texts[i], max_length_); },
      base::Precision::kAuto);
  std::vector<std::vector<float>> embeddings;
  embeddings.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!run.errors[i].ok()) return run.errors[i].with_context("text " + std::to_string(i));
    const std::span<const float> vector = run.output(i);
    embeddings.emplace_back(vector.begin(), vector.end());
  }
  return embeddings;
}

}  // namespace winnow::inference

#include "inference/embedder.h"

#include "inference/batching.h"
#include "inference/scorer.h"

namespace winnow::inference {

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
  return std::unique_ptr<Embedder>(new Embedder(std::make_unique<text::Tokenizer>(std::move(tokenizer)),
                                                std::move(model), options, max_length));
}

base::Result<std::vector<std::vector<float>>> Embedder::embed(std::span<const std::string> texts) const {
  const std::size_t n = texts.size();
  std::vector<std::optional<text::Encoding>> encodings(n);
  std::vector<base::Status> errors(n);
#pragma omp parallel for schedule(dynamic, 4)
  for (std::size_t i = 0; i < n; ++i) {
    auto encoding = tokenizer_->encode(texts[i], max_length_);
    if (encoding.ok()) {
      encodings[i] = std::move(encoding).value();
    } else {
      errors[i] = encoding.status();
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!errors[i].ok()) return errors[i].with_context("text " + std::to_string(i));
  }
  std::vector<const text::Encoding*> pointers(n);
  for (std::size_t i = 0; i < n; ++i) pointers[i] = &*encodings[i];

  std::vector<std::vector<float>> embeddings(n);
  WINNOW_RETURN_IF_ERROR(run_in_batches(
      pointers, options_.batch_limits,
      [&](const model::TokenBatch& batch, std::span<const std::size_t> items) -> base::Status {
        std::lock_guard<std::mutex> lock(model_mutex_);
        WINNOW_ASSIGN_OR_RETURN(std::vector<std::vector<float>> vectors, model_->embed(batch));
        for (std::size_t k = 0; k < items.size(); ++k) embeddings[items[k]] = std::move(vectors[k]);
        return {};
      }));
  return embeddings;
}

}  // namespace winnow::inference

#include "inference/scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "model/config.h"
#include "text/windows.h"

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
  const bool decoder = model->info().decoder_reranker;
  std::optional<std::size_t> preferred = tokenizer->model_max_length();
  // A decoder reranker's card scores prompts of up to 8192 tokens (Qwen3-Reranker's
  // max_length); its tokenizer's model_max_length (131072) is the LLM's.
  if (decoder) preferred = std::min<std::size_t>(kDecoderRerankMaxLength, model->info().max_tokens);
  WINNOW_ASSIGN_OR_RETURN(std::size_t max_length,
                          resolve_max_length(options.max_length, preferred, model->info().max_tokens));
  if (!decoder && options.instruction) {
    return base::invalid_argument("instruction: the model takes no instruction (only decoder rerankers such as "
                                  "Qwen3-Reranker do)");
  }
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
  std::optional<RerankPrompt> prompt;
  if (decoder) {
    WINNOW_ASSIGN_OR_RETURN(prompt, RerankPrompt::create(*tokenizer,
                                                         options.instruction.value_or(std::string(kDefaultRerankInstruction)),
                                                         max_length));
    model->set_prefix_reuse(options.prefix_reuse);
  }
  std::unique_ptr<Scorer> scorer(new Scorer(std::move(tokenizer), std::move(model), options, max_length));
  scorer->prompt_ = std::move(prompt);  // its tokenizer pointer stays valid: the Scorer owns the same object
  return scorer;
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
  WINNOW_ASSIGN_OR_RETURN(model::ModelConfig config, model::read_model_config(model_dir / "config.json"));
  if (config.architecture() == "Qwen3ForCausalLM") {
    // The score is read off the "yes" and "no" tokens of this tokenizer.
    const std::optional<std::int32_t> yes = tokenizer.token_to_id("yes");
    const std::optional<std::int32_t> no = tokenizer.token_to_id("no");
    if (!yes || !no) {
      return base::invalid_argument((model_dir / "tokenizer.json").string() + ": no token \"" + (yes ? "no" : "yes") +
                                    "\" in the vocabulary; a Qwen3ForCausalLM reranker scores with the last token's "
                                    "\"yes\" and \"no\" logits");
    }
    load.label_token_ids = std::array<std::int32_t, 2>{*no, *yes};
  }
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
      [&](std::size_t i) -> base::Result<text::Encoding> {
        if (prompt_) {
          const std::string& instruction = prompt_->default_instruction();
          WINNOW_ASSIGN_OR_RETURN(std::vector<std::int32_t> head, prompt_->head(instruction, pairs[i].query));
          return prompt_->encode(instruction, pairs[i].query, pairs[i].document, head, PromptFit{max_length_});
        }
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

namespace {

// A pair longer than max_length when truncation is off: the request's fault,
// named with both lengths.
base::Status too_long(std::size_t tokens, std::size_t max_length) {
  return base::out_of_range("the pair has " + std::to_string(tokens) +
                            " tokens (query, document and special tokens), more than max_length " +
                            std::to_string(max_length) + ", and truncation is off");
}

}  // namespace

std::vector<base::Result<DocumentScore>> Scorer::score_documents(std::string_view query,
                                                                 std::span<const std::string> documents,
                                                                 const DocumentOptions& options) const {
  std::vector<base::Result<DocumentScore>> results;
  results.reserve(documents.size());
  auto fail_all = [&](const base::Status& status) {
    for (std::size_t i = 0; i < documents.size(); ++i) results.emplace_back(status);
    return results;
  };
  if (options.instruction && !prompt_) {
    return fail_all(base::invalid_argument("instruction: the model takes no instruction (only decoder rerankers "
                                           "such as Qwen3-Reranker do)"));
  }
  // A decoder reranker's instruction and the ids every prompt of the call starts with.
  const std::string instruction = prompt_ ? options.instruction.value_or(prompt_->default_instruction()) : "";
  std::vector<std::int32_t> head;
  if (prompt_) {
    base::Result<std::vector<std::int32_t>> ids = prompt_->head(instruction, query);
    if (!ids.ok()) return fail_all(ids.status().with_context("query or instruction"));
    head = std::move(ids).value();
    if (options.chunking && prompt_->fixed_tokens(head) >= max_length_) {
      return fail_all(base::invalid_argument(
          "the prompt without its document (template, instruction and query) takes " +
          std::to_string(prompt_->fixed_tokens(head)) + " tokens and leaves no room for a document within max_length " +
          std::to_string(max_length_)));
    }
  }
  if (!options.chunking) {
    // Truncation off: nothing is cut, and a pair over max_length is refused
    // once it is tokenized.
    text::PairTruncation truncation{options.truncate ? max_length_ : std::numeric_limits<std::size_t>::max() / 2,
                                    options_.truncation, options.direction, options.max_document_tokens};
    const EngineResults run = engine_.run(
        documents.size(),
        [&](std::size_t i) -> base::Result<text::Encoding> {
          if (prompt_) {
            return prompt_->encode(instruction, query, documents[i], head,
                                   PromptFit{max_length_, options.direction, options.max_document_tokens,
                                             options.truncate});
          }
          WINNOW_ASSIGN_OR_RETURN(text::Encoding encoding, tokenizer_->encode_pair(query, documents[i], truncation));
          if (encoding.ids.size() > max_length_) return too_long(encoding.ids.size(), max_length_);
          return encoding;
        },
        options.precision);
    for (std::size_t i = 0; i < documents.size(); ++i) {
      if (!run.errors[i].ok()) {
        results.emplace_back(run.errors[i]);
        continue;
      }
      DocumentScore score;
      score.logit = run.output(i)[0];
      score.tokens = run.encodings[i]->ids.size();
      score.truncated = run.encodings[i]->truncated;
      score.chunk_end = documents[i].size();
      results.emplace_back(score);
    }
    return results;
  }

  const ChunkOptions& chunking = *options.chunking;
  // The room the query leaves for a window. Under longest_first a query
  // longer than half the budget is itself cut to half, so windows get half.
  const std::size_t budget = max_length_ - tokenizer_->special_tokens_count(/*pair=*/true);
  base::Result<std::vector<std::int32_t>> query_ids = tokenizer_->tokenize(query);
  if (!query_ids.ok()) {
    for (std::size_t i = 0; i < documents.size(); ++i) results.emplace_back(query_ids.status().with_context("query"));
    return results;
  }
  std::size_t room = query_ids->size() < budget ? budget - query_ids->size() : 0;
  if (options_.truncation == text::Truncation::kLongestFirst) room = std::max(room, budget / 2);
  if (prompt_) room = max_length_ - prompt_->fixed_tokens(head);  // windows never cut into the prompt's head
  if (room == 0) {
    const base::Status no_room = base::invalid_argument(
        "the query has " + std::to_string(query_ids->size()) + " tokens and leaves no room for a document within max_length " +
        std::to_string(max_length_));
    for (std::size_t i = 0; i < documents.size(); ++i) results.emplace_back(no_room);
    return results;
  }
  text::WindowOptions window;
  window.max_tokens = chunking.max_tokens == 0 ? room : std::min(chunking.max_tokens, room);
  window.overlap = chunking.overlap;
  window.max_windows = chunking.max_chunks;
  window.max_total_tokens = options.max_document_tokens;
  window.direction = options.direction;
  if (window.overlap >= window.max_tokens) {
    const base::Status bad = base::invalid_argument(
        "chunking: overlap " + std::to_string(window.overlap) + " must be smaller than a window's " +
        std::to_string(window.max_tokens) + " tokens (max_length " + std::to_string(max_length_) +
        " leaves that much room beside the query)");
    for (std::size_t i = 0; i < documents.size(); ++i) results.emplace_back(bad);
    return results;
  }
  if (chunking.max_chunks == 0) {
    for (std::size_t i = 0; i < documents.size(); ++i) {
      results.emplace_back(base::invalid_argument("chunking: max_chunks must be at least 1"));
    }
    return results;
  }

  // Plan every document's windows (as the engine tokenizes: on the caller's
  // thread for small calls, on every core for large ones).
  std::vector<base::Result<text::WindowPlan>> plans(documents.size(), base::internal_error("not planned"));
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(documents.size());
#pragma omp parallel for schedule(dynamic, 4) if (documents.size() >= kParallelTokenizeItems)
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    plans[static_cast<std::size_t>(i)] = text::plan_windows(*tokenizer_, documents[static_cast<std::size_t>(i)], window);
  }
  std::vector<std::size_t> first_window(documents.size() + 1, 0);
  for (std::size_t i = 0; i < documents.size(); ++i) {
    first_window[i + 1] = first_window[i] + (plans[i].ok() ? plans[i]->windows.size() : 0);
  }
  std::vector<std::string_view> texts(first_window.back());
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (!plans[i].ok()) continue;
    for (std::size_t w = 0; w < plans[i]->windows.size(); ++w) {
      const text::TextWindow& span = plans[i]->windows[w];
      texts[first_window[i] + w] = std::string_view(documents[i]).substr(span.begin, span.end - span.begin);
    }
  }
  const text::PairTruncation truncation{max_length_, options_.truncation, options.direction, std::nullopt};
  const EngineResults run = engine_.run(
      texts.size(),
      [&](std::size_t j) -> base::Result<text::Encoding> {
        if (prompt_) {
          return prompt_->encode(instruction, query, texts[j], head,
                                 PromptFit{max_length_, options.direction, std::nullopt, true});
        }
        return tokenizer_->encode_pair(query, texts[j], truncation);
      },
      options.precision);

  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (!plans[i].ok()) {
      results.emplace_back(plans[i].status());
      continue;
    }
    const std::size_t begin = first_window[i];
    const std::size_t end = first_window[i + 1];
    base::Status failed;
    DocumentScore score;
    score.chunks = end - begin;
    score.truncated = plans[i]->cut;
    std::vector<float> logits;
    logits.reserve(end - begin);
    for (std::size_t j = begin; j < end; ++j) {
      if (!run.errors[j].ok()) {
        failed = run.errors[j];
        if (score.chunks > 1) failed = failed.with_context("window " + std::to_string(j - begin));
        break;
      }
      const float logit = run.output(j)[0];
      if (logits.empty() || logit > logits[score.best_chunk]) score.best_chunk = j - begin;
      logits.push_back(logit);
      score.tokens += run.encodings[j]->ids.size();
      score.truncated = score.truncated || run.encodings[j]->truncated;
    }
    if (!failed.ok()) {
      results.emplace_back(failed);
      continue;
    }
    if (chunking.aggregate == ChunkAggregate::kMeanTopK && logits.size() > 1) {
      std::vector<float> sorted = logits;
      std::sort(sorted.begin(), sorted.end(), std::greater<float>());
      const std::size_t k = std::min(std::max<std::size_t>(chunking.top_k, 1), sorted.size());
      double sum = 0;
      for (std::size_t t = 0; t < k; ++t) sum += sorted[t];
      score.logit = static_cast<float>(sum / static_cast<double>(k));
    } else {
      score.logit = logits[score.best_chunk];
    }
    score.chunk_begin = plans[i]->windows[score.best_chunk].begin;
    score.chunk_end = plans[i]->windows[score.best_chunk].end;
    score.chunk_begin_char = text::code_point_offset(documents[i], score.chunk_begin);
    score.chunk_end_char = score.chunk_begin_char +
                           text::code_point_offset(std::string_view(documents[i]).substr(score.chunk_begin),
                                                   score.chunk_end - score.chunk_begin);
    results.emplace_back(score);
  }
  return results;
}

}  // namespace winnow::inference

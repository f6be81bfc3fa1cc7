#include "pipeline/stages/rerank_stage.h"

#include <algorithm>

#include "rerankers/long_documents.h"

namespace winnow::pipeline {
namespace {

class RerankStage : public Stage {
 public:
  struct Settings {
    std::string model;
    std::string query;
    std::size_t top_n = 10;
    std::vector<std::string> fields;  // empty: every text field
    std::size_t max_candidates = 1000;
    rerankers::RerankOptions options;  // precision, truncation, chunking
    std::optional<double> min_score;   // candidates scoring below it are dropped
  };

  explicit RerankStage(Settings s) : s_(std::move(s)) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const override {
    if (context.at_start()) {
      return base::invalid_argument("rerank needs candidates: put a search stage (text_search, semantic_search or "
                                    "hybrid_search) before it");
    }
    if (input.size() > s_.max_candidates) {
      return base::invalid_argument("rerank got " + std::to_string(input.size()) + " candidates, more than its " +
                                    "max_candidates of " + std::to_string(s_.max_candidates) +
                                    ": lower the top_k of the search stage before it");
    }
    context.details()["model"] = s_.model;
    if (input.empty()) return input;
    WINNOW_RETURN_IF_ERROR(context.load_documents(input));
    std::vector<std::string> texts;
    texts.reserve(input.size());
    for (const Candidate& c : input) texts.push_back(text_of(*c.document));

    if (!context.services().reranker) return base::failed_precondition("no rerank models are available");
    WINNOW_ASSIGN_OR_RETURN(std::shared_ptr<const rerankers::Reranker> reranker,
                            context.services().reranker(s_.model));
    WINNOW_ASSIGN_OR_RETURN(rerankers::RerankOutcome outcome, reranker->rerank(s_.query, texts, s_.top_n, s_.options));

    nlohmann::json& details = context.details();
    details["model"] = outcome.model.empty() ? s_.model : outcome.model;
    if (!outcome.revision.empty()) details["revision"] = outcome.revision;
    if (!outcome.precision.empty()) details["precision"] = outcome.precision;
    details["candidates_scored"] = outcome.documents_scored;
    details["documents_truncated"] = outcome.documents_truncated;
    details["tokens"] = outcome.tokens_scored;
    if (s_.options.chunking) details["chunks_scored"] = outcome.chunks_scored;
    if (outcome.score_cache) {
      details["score_cache"] = {{"hits", outcome.score_cache->hits},
                                {"misses", outcome.score_cache->misses},
                                {"evictions", outcome.score_cache->evictions}};
    }
    if (!outcome.warnings.empty()) details["warnings"] = outcome.warnings;

    std::vector<Candidate> ranked;
    ranked.reserve(outcome.results.size());
    std::size_t below = 0;
    for (const rerankers::RankedDocument& r : outcome.results) {
      if (s_.min_score && r.relevance_score < *s_.min_score) {
        ++below;
        continue;
      }
      const std::size_t position = ranked.size();
      Candidate c = input[r.index];
      c.original_score = c.score;
      c.score = r.relevance_score;
      c.rerank_position = position + 1;
      if (r.chunk) {
        c.best_chunk = nlohmann::json{{"index", r.chunk->index}, {"chunks", r.chunk->chunks},
                                      {"start", r.chunk->start}, {"end", r.chunk->end}};
      }
      ranked.push_back(std::move(c));
    }
    if (s_.min_score) details["dropped_below_min_score"] = below;
    return ranked;
  }

 private:
  // The fields asked for, in the order asked, or every text field in the document's order.
  std::string text_of(const LoadedDocument& document) const {
    std::string text;
    auto append = [&](const std::string& value) {
      if (!text.empty()) text += ' ';
      text += value;
    };
    if (s_.fields.empty()) {
      for (const auto& field : document.text_fields) append(field.second);
      return text;
    }
    for (const std::string& name : s_.fields) {
      auto it = std::find_if(document.text_fields.begin(), document.text_fields.end(),
                             [&](const auto& field) { return field.first == name; });
      if (it != document.text_fields.end()) append(it->second);
    }
    return text;
  }

  Settings s_;
};

}  // namespace

StageDefinition rerank_stage() {
  StageDefinition d;
  d.stage_id = "rerank";
  d.type = StageType::kSort;
  d.template_defaults = {{"query", "{{INPUT.query}}"}};
  d.build = [](Params& p, const PipelineLimits& limits) -> base::Result<std::unique_ptr<Stage>> {
    auto model = p.string("model");
    auto query = p.string("query");
    auto top_n = p.integer("top_n", 10, 1, 10000);
    auto fields = p.strings("field", {});
    auto max_candidates =
        p.integer("max_candidates", static_cast<std::int64_t>(limits.default_max_candidates), 1, 100000);
    auto precision = p.string("precision", "auto");
    auto chunking = p.json("chunking", false);
    auto direction = p.string("truncation_direction", "right");
    auto max_tokens_per_doc = p.integer("max_tokens_per_doc", 0, 0, 1 << 20);
    auto min_score = p.number("min_score", -1.0, 0.0, 1.0);
    auto instruction = p.string("instruction", "");
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    for (const base::Status& s : {model.status(), query.status(), top_n.status(), fields.status(),
                                  max_candidates.status(), precision.status(), chunking.status(), direction.status(),
                                  max_tokens_per_doc.status(), min_score.status(), instruction.status()}) {
      if (!s.ok()) return s;
    }
    if (model->empty()) return p.error("model", "must name a model");
    RerankStage::Settings s{*model, *query, static_cast<std::size_t>(*top_n), *fields,
                            static_cast<std::size_t>(*max_candidates), {}};
    if (!p.is_pending("precision")) {
      auto parsed = base::parse_precision(*precision);
      if (!parsed.ok()) return p.error("precision", "must be fp32, bf16, int8 or auto, got \"" + *precision + "\"");
      if (*parsed != base::Precision::kAuto) s.options.precision = *parsed;
    }
    if (!p.is_pending("chunking") && !chunking->is_null()) {
      auto parsed = rerankers::chunking_from_json(*chunking, "chunking");
      if (!parsed.ok()) return p.error("chunking", parsed.status().message());
      s.options.chunking = *parsed;
    }
    if (!p.is_pending("truncation_direction")) {
      auto parsed = rerankers::parse_truncation_direction(*direction, "truncation_direction");
      if (!parsed.ok()) return p.error("truncation_direction", parsed.status().message());
      s.options.truncation_direction = *parsed;
    }
    if (!p.is_pending("max_tokens_per_doc") && *max_tokens_per_doc > 0) {
      s.options.max_tokens_per_doc = static_cast<std::size_t>(*max_tokens_per_doc);
    }
    if (!p.is_pending("min_score") && p.has("min_score")) s.min_score = *min_score;
    // A decoder reranker's task instruction; the model refuses it if it takes none.
    if (!p.is_pending("instruction") && p.has("instruction")) s.options.instruction = *instruction;
    return std::unique_ptr<Stage>(new RerankStage(std::move(s)));
  };
  return d;
}

}  // namespace winnow::pipeline

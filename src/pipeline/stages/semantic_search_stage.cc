#include "pipeline/stages/semantic_search_stage.h"

#include "pipeline/stages/search_common.h"

namespace winnow::pipeline {
namespace {

class SemanticSearchStage : public Stage {
 public:
  SemanticSearchStage(std::string query, std::optional<std::vector<float>> vector, std::string index,
                      std::size_t top_k)
      : query_(std::move(query)), vector_(std::move(vector)), index_(std::move(index)), top_k_(top_k) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const override {
    context.details()["top_k"] = top_k_;
    context.details()["vector_index"] = index_;
    return search_collections(
        context, input, top_k_,
        [&](const std::string& collection, std::size_t k) -> base::Result<std::vector<store::ScoredDocument>> {
          WINNOW_ASSIGN_OR_RETURN(std::vector<float> v, query_vector_for(context, collection, index_, query_, vector_));
          return context.services().store->vector_search(collection, index_, v, k);
        });
  }

 private:
  std::string query_;
  std::optional<std::vector<float>> vector_;
  std::string index_;
  std::size_t top_k_;
};

}  // namespace

base::Result<std::vector<float>> query_vector_for(StageContext& context, const std::string& collection,
                                                  const std::string& index, const std::string& query,
                                                  const std::optional<std::vector<float>>& vector) {
  if (vector) return *vector;
  WINNOW_ASSIGN_OR_RETURN(store::VectorIndexSpec spec, context.services().store->index_spec(collection, index));
  if (spec.model.empty()) {
    return base::invalid_argument("vector index \"" + index + "\" of collection \"" + collection +
                                  "\" has no embedding model: send \"query_vector\" instead of a query text");
  }
  if (!context.services().embed) return base::failed_precondition("no embedding models are available");
  const std::string texts[] = {query};
  auto embedded = context.services().embed(spec.model, texts);
  if (!embedded.ok()) return embedded.status().with_context("embedding the query with " + spec.model);
  if (embedded->size() != 1) return base::internal_error("the embedding model returned no vector for the query");
  return std::move(embedded->front());
}

base::Result<std::optional<std::vector<float>>> query_vector_parameter(Params& p) {
  auto raw = p.json("query_vector", false);
  if (raw->is_null() || p.is_pending("query_vector")) return std::optional<std::vector<float>>();
  if (!raw->is_array() || raw->empty()) return p.error("query_vector", "must be a non-empty array of numbers");
  std::vector<float> vector;
  for (const auto& x : *raw) {
    if (!x.is_number()) return p.error("query_vector", "must be a non-empty array of numbers");
    vector.push_back(x.get<float>());
  }
  return std::optional<std::vector<float>>(std::move(vector));
}

StageDefinition semantic_search_stage() {
  StageDefinition d;
  d.stage_id = "semantic_search";
  d.type = StageType::kFilter;
  d.template_defaults = {{"query", "{{INPUT.query}}"}};
  d.defaults_unless = {"query_vector"};
  d.build = [](Params& p, const PipelineLimits& limits) -> base::Result<std::unique_ptr<Stage>> {
    auto index = p.string("vector_index");
    auto top_k = p.integer("top_k", 10, 1, static_cast<std::int64_t>(limits.max_top_k));
    auto vector = query_vector_parameter(p);
    auto query = p.string("query", std::string());  // defaulted before templates are filled
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    if (!index.ok()) return index.status();
    if (!top_k.ok()) return top_k.status();
    if (!query.ok()) return query.status();
    if (!vector.ok()) return vector.status();
    return std::unique_ptr<Stage>(
        new SemanticSearchStage(*query, std::move(*vector), *index, static_cast<std::size_t>(*top_k)));
  };
  return d;
}

}  // namespace winnow::pipeline

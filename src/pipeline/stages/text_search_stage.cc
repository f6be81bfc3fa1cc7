#include "pipeline/stages/text_search_stage.h"

#include "pipeline/stages/search_common.h"

namespace winnow::pipeline {
namespace {

class TextSearchStage : public Stage {
 public:
  TextSearchStage(std::string query, std::size_t top_k) : query_(std::move(query)), top_k_(top_k) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const override {
    context.details()["top_k"] = top_k_;
    return search_collections(context, input, top_k_, [&](const std::string& collection, std::size_t k) {
      return context.services().store->text_search(collection, query_, k);
    });
  }

 private:
  std::string query_;
  std::size_t top_k_;
};

}  // namespace

StageDefinition text_search_stage() {
  StageDefinition d;
  d.stage_id = "text_search";
  d.type = StageType::kFilter;
  d.template_defaults = {{"query", "{{INPUT.query}}"}};
  d.build = [](Params& p, const PipelineLimits& limits) -> base::Result<std::unique_ptr<Stage>> {
    auto query = p.string("query");
    auto top_k = p.integer("top_k", 10, 1, static_cast<std::int64_t>(limits.max_top_k));
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    if (!query.ok()) return query.status();
    if (!top_k.ok()) return top_k.status();
    return std::unique_ptr<Stage>(new TextSearchStage(*query, static_cast<std::size_t>(*top_k)));
  };
  return d;
}

}  // namespace winnow::pipeline

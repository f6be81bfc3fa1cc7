#include "pipeline/stages/hybrid_search_stage.h"

#include <algorithm>
#include <map>

#include "pipeline/stages/search_common.h"
#include "pipeline/stages/semantic_search_stage.h"

namespace winnow::pipeline {
namespace {

class HybridSearchStage : public Stage {
 public:
  struct Settings {
    std::string query;
    std::optional<std::vector<float>> vector;
    std::string index;
    std::size_t top_k = 10;
    std::size_t candidates = 100;
    Fusion fusion = Fusion::kReciprocalRank;
    double rrf_k = 60;
    double text_weight = 1;
    double semantic_weight = 1;
  };

  explicit HybridSearchStage(Settings s) : s_(std::move(s)) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const override {
    WINNOW_ASSIGN_OR_RETURN(
        std::vector<Candidate> lexical,
        search_collections(context, input, s_.candidates, [&](const std::string& collection, std::size_t k) {
          return context.services().store->text_search(collection, s_.query, k);
        }));
    WINNOW_ASSIGN_OR_RETURN(
        std::vector<Candidate> dense,
        search_collections(context, input, s_.candidates,
                           [&](const std::string& collection,
                               std::size_t k) -> base::Result<std::vector<store::ScoredDocument>> {
                             WINNOW_ASSIGN_OR_RETURN(std::vector<float> v,
                                                     query_vector_for(context, collection, s_.index, s_.query, s_.vector));
                             return context.services().store->vector_search(collection, s_.index, v, k);
                           }));
    context.details()["fusion"] = s_.fusion == Fusion::kReciprocalRank ? "rrf" : "weighted";
    context.details()["text_candidates"] = lexical.size();
    context.details()["semantic_candidates"] = dense.size();
    std::vector<Candidate> fused =
        fuse_rankings({lexical, dense}, {s_.text_weight, s_.semantic_weight}, s_.fusion, s_.rrf_k);
    if (fused.size() > s_.top_k) fused.resize(s_.top_k);
    return fused;
  }

 private:
  Settings s_;
};

}  // namespace

std::vector<Candidate> fuse_rankings(const std::vector<std::vector<Candidate>>& lists,
                                     const std::vector<double>& weights, Fusion fusion, double rrf_k) {
  std::map<std::pair<std::string, std::string>, std::size_t> slot;  // document -> index in `fused`
  std::vector<Candidate> fused;
  for (std::size_t l = 0; l < lists.size(); ++l) {
    const std::vector<Candidate>& list = lists[l];
    double lo = 0, hi = 0;
    if (!list.empty()) {
      auto [mn, mx] = std::minmax_element(list.begin(), list.end(),
                                          [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
      lo = mn->score;
      hi = mx->score;
    }
    for (std::size_t rank = 0; rank < list.size(); ++rank) {
      const Candidate& c = list[rank];
      double contribution = 0;
      if (fusion == Fusion::kReciprocalRank) {
        contribution = weights[l] / (rrf_k + static_cast<double>(rank + 1));
      } else {
        contribution = weights[l] * (hi > lo ? (c.score - lo) / (hi - lo) : 1.0);
      }
      auto [it, inserted] = slot.try_emplace({c.collection_id, c.document_id}, fused.size());
      if (inserted) {
        Candidate fresh = c;
        fresh.score = 0;
        fused.push_back(std::move(fresh));
      }
      fused[it->second].score += contribution;
    }
  }
  std::stable_sort(fused.begin(), fused.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  return fused;
}

StageDefinition hybrid_search_stage() {
  StageDefinition d;
  d.stage_id = "hybrid_search";
  d.type = StageType::kFilter;
  d.template_defaults = {{"query", "{{INPUT.query}}"}};
  d.build = [](Params& p, const PipelineLimits& limits) -> base::Result<std::unique_ptr<Stage>> {
    const auto max_k = static_cast<std::int64_t>(limits.max_top_k);
    auto query = p.string("query");
    auto index = p.string("vector_index");
    auto vector = query_vector_parameter(p);
    auto top_k = p.integer("top_k", 10, 1, max_k);
    auto fusion = p.string("fusion", "rrf");
    auto rrf_k = p.number("rrf_k", 60, 0, 1e6);
    auto weights = p.json("weights", false);
    const std::int64_t default_candidates = std::min(std::max<std::int64_t>(top_k.ok() ? *top_k : 10, 100), max_k);
    auto candidates = p.integer("candidates", default_candidates, 1, max_k);
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    for (const base::Status& s : {query.status(), index.status(), top_k.status(), fusion.status(), rrf_k.status(),
                                  weights.status(), candidates.status(), vector.status()}) {
      if (!s.ok()) return s;
    }
    HybridSearchStage::Settings s;
    s.query = *query;
    s.index = *index;
    s.top_k = static_cast<std::size_t>(*top_k);
    s.candidates = static_cast<std::size_t>(*candidates);
    s.rrf_k = *rrf_k;
    if (!p.is_pending("fusion")) {
      if (*fusion == "rrf") {
        s.fusion = Fusion::kReciprocalRank;
      } else if (*fusion == "weighted") {
        s.fusion = Fusion::kWeighted;
        s.text_weight = s.semantic_weight = 0.5;
      } else {
        return p.error("fusion", "must be \"rrf\" or \"weighted\", got \"" + *fusion + "\"");
      }
    }
    if (!weights->is_null() && !p.is_pending("weights")) {
      if (!weights->is_object()) return p.error("weights", "must be an object {\"text\": w, \"semantic\": w}");
      for (auto it = weights->begin(); it != weights->end(); ++it) {
        if (!it->is_number() || it->get<double>() < 0) {
          return p.error("weights", "values must be numbers ≥ 0, got " + it->dump() + " for \"" + it.key() + "\"");
        }
        if (it.key() == "text") {
          s.text_weight = it->get<double>();
        } else if (it.key() == "semantic") {
          s.semantic_weight = it->get<double>();
        } else {
          return p.error("weights", "has an unknown key \"" + it.key() + "\" (text, semantic)");
        }
      }
    }
    s.vector = *vector;
    return std::unique_ptr<Stage>(new HybridSearchStage(std::move(s)));
  };
  return d;
}

}  // namespace winnow::pipeline

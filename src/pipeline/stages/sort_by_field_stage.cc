#include "pipeline/stages/sort_by_field_stage.h"

#include <algorithm>

#include "pipeline/conditions.h"

namespace winnow::pipeline {
namespace {

class SortByFieldStage : public Stage {
 public:
  SortByFieldStage(std::string field, std::vector<std::string> path, bool descending)
      : field_(std::move(field)), path_(std::move(path)), descending_(descending) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const override {
    if (field_ == "score") {
      std::stable_sort(input.begin(), input.end(), [&](const Candidate& a, const Candidate& b) {
        return descending_ ? a.score > b.score : a.score < b.score;
      });
      return input;
    }
    WINNOW_RETURN_IF_ERROR(context.load_documents(input));
    // Rank of a value's kind: 0 numbers, 1 strings, 2 anything else, 3 missing.
    auto kind = [](const nlohmann::json* v) {
      if (v == nullptr || v->is_null()) return 3;
      if (v->is_number()) return 0;
      if (v->is_string()) return 1;
      return 2;
    };
    std::vector<std::pair<const nlohmann::json*, std::size_t>> keys;  // value, input position
    keys.reserve(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) keys.emplace_back(field_at(input[i].document->view, path_), i);
    std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) {
      int ka = kind(a.first), kb = kind(b.first);
      if (ka != kb) return ka < kb;
      if (ka == 0) {
        double x = a.first->template get<double>(), y = b.first->template get<double>();
        return descending_ ? x > y : x < y;
      }
      if (ka == 1) {
        const auto& x = a.first->template get_ref<const std::string&>();
        const auto& y = b.first->template get_ref<const std::string&>();
        return descending_ ? x > y : x < y;
      }
      return false;
    });
    std::vector<Candidate> sorted;
    sorted.reserve(input.size());
    for (const auto& key : keys) sorted.push_back(std::move(input[key.second]));
    return sorted;
  }

 private:
  std::string field_;
  std::vector<std::string> path_;
  bool descending_;
};

}  // namespace

StageDefinition sort_by_field_stage() {
  StageDefinition d;
  d.stage_id = "sort_by_field";
  d.type = StageType::kSort;
  d.build = [](Params& p, const PipelineLimits&) -> base::Result<std::unique_ptr<Stage>> {
    auto field = p.string("field");
    auto direction = p.string("direction", "desc");
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    if (!field.ok()) return field.status();
    if (!direction.ok()) return direction.status();
    if (*direction != "asc" && *direction != "desc" && !p.is_pending("direction")) {
      return p.error("direction", "must be \"asc\" or \"desc\", got \"" + *direction + "\"");
    }
    WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> path,
                            split_field_path(*field, p.where() + ": parameter \"field\""));
    return std::unique_ptr<Stage>(new SortByFieldStage(*field, std::move(path), *direction != "asc"));
  };
  return d;
}

}  // namespace winnow::pipeline

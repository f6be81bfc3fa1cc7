#include "pipeline/stages/limit_stage.h"

namespace winnow::pipeline {
namespace {

class LimitStage : public Stage {
 public:
  LimitStage(std::size_t limit, std::size_t offset) : limit_(limit), offset_(offset) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext&) const override {
    if (offset_ >= input.size()) return std::vector<Candidate>();
    std::size_t end = std::min(input.size(), offset_ + limit_);
    return std::vector<Candidate>(std::make_move_iterator(input.begin() + static_cast<std::ptrdiff_t>(offset_)),
                                  std::make_move_iterator(input.begin() + static_cast<std::ptrdiff_t>(end)));
  }

 private:
  std::size_t limit_;
  std::size_t offset_;
};

}  // namespace

StageDefinition limit_stage() {
  StageDefinition d;
  d.stage_id = "limit";
  d.type = StageType::kReduce;
  d.build = [](Params& p, const PipelineLimits&) -> base::Result<std::unique_ptr<Stage>> {
    auto limit = p.integer("limit", std::nullopt, 0, 1000000);
    auto offset = p.integer("offset", 0, 0, 1000000);
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    if (!limit.ok()) return limit.status();
    if (!offset.ok()) return offset.status();
    return std::unique_ptr<Stage>(new LimitStage(static_cast<std::size_t>(*limit), static_cast<std::size_t>(*offset)));
  };
  return d;
}

}  // namespace winnow::pipeline

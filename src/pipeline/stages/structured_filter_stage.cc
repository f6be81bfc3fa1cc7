#include "pipeline/stages/structured_filter_stage.h"

#include "pipeline/conditions.h"

namespace winnow::pipeline {
namespace {

class StructuredFilterStage : public Stage {
 public:
  explicit StructuredFilterStage(Condition condition) : condition_(std::move(condition)) {}

  base::Result<std::vector<Candidate>> run(std::vector<Candidate> input, StageContext& context) const override {
    if (context.at_start()) {
      WINNOW_ASSIGN_OR_RETURN(input, scan_collections(context));
    } else {
      WINNOW_RETURN_IF_ERROR(context.load_documents(input));
    }
    std::vector<Candidate> kept;
    for (Candidate& c : input) {
      if (condition_.matches(c.document->view)) kept.push_back(std::move(c));
    }
    return kept;
  }

 private:
  static base::Result<std::vector<Candidate>> scan_collections(StageContext& context) {
    std::vector<Candidate> all;
    for (const std::string& collection : context.collection_ids()) {
      std::string after;
      do {
        WINNOW_ASSIGN_OR_RETURN(store::DocumentPage page,
                                context.services().store->list_documents(collection, after, 1000));
        for (const store::StoredDocument& d : page.documents) {
          if (all.size() >= context.limits().max_filter_scan) {
            return base::invalid_argument("structured_filter as the first stage scans every document, and the "
                                          "collections hold more than " +
                                          std::to_string(context.limits().max_filter_scan) +
                                          ": put a search stage before it");
          }
          Candidate c;
          c.collection_id = collection;
          c.document_id = d.document_id;
          c.document = load_document(d);
          all.push_back(std::move(c));
        }
        after = page.next_after;
      } while (!after.empty());
    }
    context.details()["scanned"] = all.size();
    return all;
  }

  Condition condition_;
};

}  // namespace

StageDefinition structured_filter_stage() {
  StageDefinition d;
  d.stage_id = "structured_filter";
  d.type = StageType::kFilter;
  d.build = [](Params& p, const PipelineLimits&) -> base::Result<std::unique_ptr<Stage>> {
    auto spec = p.json("conditions", true);
    WINNOW_RETURN_IF_ERROR(p.check_no_unknown());
    if (!spec.ok()) return spec.status();
    // Templated values inside the tree are fine for a definition check: the
    // operator and the shape are what can be checked before inputs arrive.
    WINNOW_ASSIGN_OR_RETURN(Condition condition,
                            Condition::parse(*spec, p.where() + ": parameter \"conditions\""));
    return std::unique_ptr<Stage>(new StructuredFilterStage(std::move(condition)));
  };
  return d;
}

}  // namespace winnow::pipeline

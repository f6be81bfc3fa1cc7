#include "eval/evaluation.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/stopwatch.h"
#include "pipeline/stage.h"
#include "store/store.h"

namespace winnow::eval {

base::Result<EvaluationReport> evaluate_pipeline(const BeirDataset& dataset, pipeline::PipelineRequest pipeline,
                                                 registry::ModelRegistry& registry, const EvaluationOptions& options) {
  const std::string collection = "corpus";
  pipeline.collection_ids = {collection};

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("winnow-eval-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr)));
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::open(dir));
  pipeline::PipelineServices services = pipeline::services_for(*store, registry);
  WINNOW_RETURN_IF_ERROR(
      store->create_collection(collection, nlohmann::json{{"text_fields", {"title", "text"}}}).status());

  EvaluationReport report;
  std::string ndjson;
  for (const BeirDocument& d : dataset.corpus) ndjson += beir_document_ndjson(d) + "\n";
  std::istringstream corpus(ndjson);
  store::IngestOptions ingest_options;
  ingest_options.embed = pipeline::ingest_embedder(services, collection);
  base::Stopwatch ingest_clock;
  WINNOW_ASSIGN_OR_RETURN(store::IngestReport ingested, store->ingest(collection, corpus, ingest_options));
  report.ingest_seconds = ingest_clock.elapsed_ms() / 1000.0;
  report.documents = ingested.documents_stored;

  std::map<std::string, std::vector<std::string>> runs;
  Qrels qrels;
  base::Stopwatch query_clock;
  for (const BeirQuery& q : dataset.queries) {
    if (options.max_queries > 0 && runs.size() >= options.max_queries) break;
    pipeline.inputs = {{"query", q.text}};
    auto result = pipeline::execute_pipeline(services, pipeline::PipelineLimits{}, pipeline);
    if (!result.ok()) return result.status().with_context("query " + q.id);
    std::vector<std::string>& ranking = runs[q.id];
    for (const pipeline::Candidate& c : result->documents) ranking.push_back(c.document_id);
    qrels[q.id] = dataset.qrels.at(q.id);
  }
  report.query_seconds = query_clock.elapsed_ms() / 1000.0;
  report.metrics = evaluate_runs(runs, qrels);
  return report;
}

}  // namespace winnow::eval

// The evaluation driver: a pipeline measured on a BEIR dataset.
#pragma once

#include <cstddef>

#include "base/status.h"
#include "eval/beir.h"
#include "eval/ir_metrics.h"
#include "pipeline/executor.h"
#include "registry/model_registry.h"

namespace winnow::eval {

struct EvaluationOptions {
  std::size_t max_queries = 0;  // 0: every query of the dataset
};

struct EvaluationReport {
  IrMetrics metrics;
  std::size_t documents = 0;  // corpus documents stored
  double ingest_seconds = 0;
  double query_seconds = 0;
};

// Ingests `dataset`'s corpus into a temporary store (a collection "corpus"
// with BEIR's "flat" BM25 fields, title then text; removed afterwards), runs
// `pipeline` once per query with the query's text as input "query" (its
// collection_ids are set to the corpus), and scores the rankings against
// the qrels. Models named by the pipeline come from `registry`. Errors name
// the query that failed.
base::Result<EvaluationReport> evaluate_pipeline(const BeirDataset& dataset, pipeline::PipelineRequest pipeline,
                                                 registry::ModelRegistry& registry,
                                                 const EvaluationOptions& options = {});

}  // namespace winnow::eval

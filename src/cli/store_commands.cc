// `winnow ingest`, `winnow query` and `winnow eval`: the store and pipelines
// from the command line, without a server.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "base/files.h"
#include "base/stopwatch.h"
#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"
#include "eval/beir.h"
#include "eval/evaluation.h"
#include "pipeline/executor.h"
#include "store/store.h"

namespace winnow::cli {
namespace {

// ---- ingest ----

struct IngestFlags {
  std::string data = "./winnow-data";
  std::string collection;
  std::string input = "-";
  bool create = false;
  std::string settings = "{}";
  int threads = 0;
  RegistryFlags registry;
};

int run_ingest(const IngestFlags& flags) {
  EngineFlags engine;
  engine.threads = flags.threads;
  engine.apply_threads();
  auto store = store::Store::open(flags.data);
  if (!store.ok()) {
    print_error("ingest", store.status());
    return kExitFailure;
  }
  if (!(*store)->get_collection(flags.collection).ok()) {
    if (!flags.create) {
      print_error("ingest", base::not_found("no collection \"" + flags.collection + "\" in " + flags.data +
                                            " (--create makes it)"));
      return kExitFailure;
    }
    auto settings = base::parse_json(flags.settings, "--settings");
    if (!settings.ok()) {
      print_error("ingest", settings.status());
      return kExitFailure;
    }
    if (auto created = (*store)->create_collection(flags.collection, *settings); !created.ok()) {
      print_error("ingest", created.status());
      return kExitFailure;
    }
  }
  auto registry = flags.registry.open(std::filesystem::path(flags.data) / "models.json");
  if (!registry.ok()) {
    print_error("ingest", registry.status());
    return kExitFailure;
  }
  pipeline::PipelineServices services = pipeline::services_for(**store, **registry);

  std::ifstream file;
  if (flags.input != "-") {
    file.open(flags.input, std::ios::binary);
    if (!file) {
      print_error("ingest", base::not_found(flags.input + ": cannot open"));
      return kExitFailure;
    }
  }
  std::istream& in = flags.input == "-" ? std::cin : file;
  store::IngestOptions options;
  options.embed = pipeline::ingest_embedder(services, flags.collection);
  base::Stopwatch stopwatch;
  auto report = (*store)->ingest(flags.collection, in, options);
  const double seconds = stopwatch.elapsed_ms() / 1000.0;
  if (!report.ok()) {
    print_error("ingest", report.status());
    return kExitFailure;
  }
  const std::string source = flags.input == "-" ? "standard input" : flags.input;
  for (const store::LineError& e : report->errors) std::cerr << source << " line " << e.line << ": " << e.error << "\n";
  if (report->bad_lines > report->errors.size()) {
    std::cerr << "... and " << report->bad_lines - report->errors.size() << " more bad lines\n";
  }
  nlohmann::json summary = {{"collection", flags.collection},
                            {"lines", report->lines},
                            {"documents_stored", report->documents_stored},
                            {"bad_lines", report->bad_lines},
                            {"seconds", seconds},
                            {"documents_per_second", seconds > 0 ? report->documents_stored / seconds : 0.0}};
  std::cout << to_json_line(summary);
  return report->bad_lines > 0 ? kExitSomeLinesFailed : 0;
}

// ---- query ----

struct QueryFlags {
  std::string data = "./winnow-data";
  std::string pipeline_file;
  std::string retriever;
  std::vector<std::string> collections;
  std::vector<std::string> inputs;       // name=value (text)
  std::vector<std::string> json_inputs;  // name=JSON
  std::vector<std::string> return_fields;
  int threads = 0;
  RegistryFlags registry;
};

base::Result<nlohmann::json> parse_inputs(const QueryFlags& flags) {
  nlohmann::json inputs = nlohmann::json::object();
  for (bool as_json : {false, true}) {
    for (const std::string& item : as_json ? flags.json_inputs : flags.inputs) {
      auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        return base::invalid_argument(std::string(as_json ? "--input-json" : "--input") + " \"" + item +
                                      "\": expected name=value");
      }
      const std::string name = item.substr(0, eq);
      if (as_json) {
        WINNOW_ASSIGN_OR_RETURN(inputs[name], base::parse_json(item.substr(eq + 1), "--input-json " + name));
      } else {
        inputs[name] = item.substr(eq + 1);
      }
    }
  }
  return inputs;
}

// A pipeline file: a stages array, or {"collection_ids", "stages", "input_schema"}.
base::Result<pipeline::PipelineRequest> read_pipeline_file(const std::string& path,
                                                           const std::vector<std::string>& collections) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(path));
  pipeline::PipelineRequest request;
  if (json.is_array()) {
    request.stages = json;
  } else if (json.is_object()) {
    request.stages = json.value("stages", nlohmann::json());
    request.input_schema = json.value("input_schema", nlohmann::json());
    if (auto ids = json.find("collection_ids"); ids != json.end()) {
      if (!ids->is_array()) return base::invalid_argument(path + ": \"collection_ids\" must be an array");
      for (const auto& id : *ids) {
        if (!id.is_string()) return base::invalid_argument(path + ": \"collection_ids\" must list strings");
        request.collection_ids.push_back(id.get<std::string>());
      }
    }
  } else {
    return base::invalid_argument(path + ": expected a stages array or an object with \"stages\"");
  }
  if (!collections.empty()) request.collection_ids = collections;
  if (request.collection_ids.empty()) {
    return base::invalid_argument(path + ": name the collections with --collection or \"collection_ids\"");
  }
  return request;
}

int run_query(const QueryFlags& flags) {
  EngineFlags engine;
  engine.threads = flags.threads;
  engine.apply_threads();
  auto inputs = parse_inputs(flags);
  if (!inputs.ok()) {
    print_error("query", inputs.status());
    return kExitFailure;
  }
  auto store = store::Store::open(flags.data);
  if (!store.ok()) {
    print_error("query", store.status());
    return kExitFailure;
  }
  pipeline::PipelineRequest request;
  if (!flags.retriever.empty()) {
    auto retriever = (*store)->get_retriever(flags.retriever);
    if (!retriever.ok()) {
      print_error("query", retriever.status());
      return kExitFailure;
    }
    request = {retriever->collection_ids, retriever->stages, nlohmann::json(), retriever->input_schema};
  } else if (!flags.pipeline_file.empty()) {
    auto read = read_pipeline_file(flags.pipeline_file, flags.collections);
    if (!read.ok()) {
      print_error("query", read.status());
      return kExitFailure;
    }
    request = std::move(*read);
  } else {
    print_error("query", base::invalid_argument("give --pipeline FILE or --retriever ID"));
    return kExitFailure;
  }
  request.inputs = *inputs;
  auto registry = flags.registry.open(std::filesystem::path(flags.data) / "models.json");
  if (!registry.ok()) {
    print_error("query", registry.status());
    return kExitFailure;
  }
  pipeline::PipelineServices services = pipeline::services_for(**store, **registry);
  auto result = pipeline::execute_pipeline(services, pipeline::PipelineLimits{}, request);
  if (!result.ok()) {
    print_error("query", result.status());
    return kExitFailure;
  }
  std::optional<std::vector<std::string>> fields;
  if (!flags.return_fields.empty()) fields = flags.return_fields;
  std::cout << pipeline::pipeline_result_json(*result, fields).dump(2, ' ', false,
                                                                    nlohmann::json::error_handler_t::replace)
            << "\n";
  return 0;
}

// ---- eval ----

struct EvalFlags {
  std::string data;
  std::string pipeline_file;
  std::string split = "test";
  std::size_t max_queries = 0;
  bool json = false;
  int threads = 0;
  RegistryFlags registry;
};

int run_eval(const EvalFlags& flags) {
  EngineFlags engine;
  engine.threads = flags.threads;
  engine.apply_threads();
  auto dataset = eval::read_beir_dataset(flags.data, flags.split);
  if (!dataset.ok()) {
    print_error("eval", dataset.status());
    return kExitFailure;
  }
  pipeline::PipelineRequest request;
  if (flags.pipeline_file.empty()) {
    request.stages = nlohmann::json::array(
        {{{"stage_type", "filter"}, {"stage_id", "text_search"}, {"parameters", {{"top_k", 100}}}}});
  } else {
    auto read = read_pipeline_file(flags.pipeline_file, {"corpus"});
    if (!read.ok()) {
      print_error("eval", read.status());
      return kExitFailure;
    }
    request = std::move(*read);
  }
  auto registry = flags.registry.open();
  if (!registry.ok()) {
    print_error("eval", registry.status());
    return kExitFailure;
  }
  eval::EvaluationOptions options;
  options.max_queries = flags.max_queries;
  auto report = eval::evaluate_pipeline(*dataset, std::move(request), **registry, options);
  if (!report.ok()) {
    print_error("eval", report.status());
    return kExitFailure;
  }
  const eval::IrMetrics& metrics = report->metrics;
  if (flags.json) {
    std::cout << to_json_line({{"ndcg@10", metrics.ndcg_at_10},
                               {"recall@100", metrics.recall_at_100},
                               {"mrr@10", metrics.mrr_at_10},
                               {"queries", metrics.queries},
                               {"documents", report->documents},
                               {"ingest_seconds", report->ingest_seconds},
                               {"query_seconds", report->query_seconds}});
    return 0;
  }
  std::cout << std::fixed << std::setprecision(4) << "NDCG@10     " << metrics.ndcg_at_10 << "\n"
            << "Recall@100  " << metrics.recall_at_100 << "\n"
            << "MRR@10      " << metrics.mrr_at_10 << "\n"
            << "queries     " << metrics.queries << "\n"
            << std::setprecision(1) << "documents   " << report->documents << " (ingested in "
            << report->ingest_seconds << " s; queries ran in " << report->query_seconds << " s)\n";
  return 0;
}

}  // namespace

void add_ingest_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<IngestFlags>();
  CLI::App* command = app.add_subcommand("ingest", "Store NDJSON documents in a collection (bad lines are reported)");
  command->add_option("--data", flags->data, "data directory");
  command->add_option("--collection,-c", flags->collection, "collection id")->required();
  command->add_option("documents", flags->input, "NDJSON file, one document per line; - for standard input");
  command->add_flag("--create", flags->create, "create the collection if it does not exist");
  command->add_option("--settings", flags->settings,
                      "collection settings for --create (JSON: text_fields, vector_indexes, bm25)");
  command->add_option("--threads", flags->threads, "compute threads for embedding models")->check(CLI::Range(0, 1024));
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_ingest(*flags); });
}

void add_query_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<QueryFlags>();
  CLI::App* command = app.add_subcommand("query", "Run a pipeline or a stored retriever on the store");
  command->add_option("--data", flags->data, "data directory");
  command->add_option("--pipeline", flags->pipeline_file,
                      "pipeline file: a stages array, or {\"collection_ids\", \"stages\", \"input_schema\"}");
  command->add_option("--retriever", flags->retriever, "a stored retriever's id");
  command->add_option("--collection,-c", flags->collections, "collection(s) to search (overrides the file)");
  command->add_option("--input,-i", flags->inputs, "an input as name=text, e.g. --input query=\"what is bm25\"");
  command->add_option("--input-json", flags->json_inputs, "an input as name=JSON, e.g. --input-json top_k=20");
  command->add_option("--return-fields", flags->return_fields, "text fields (and \"metadata\") to return");
  command->add_option("--threads", flags->threads, "compute threads for models")->check(CLI::Range(0, 1024));
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_query(*flags); });
}

void add_eval_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* command = app.add_subcommand(
      "eval", "Measure a pipeline on a BEIR-layout collection: NDCG@10, Recall@100, MRR@10");
  command->add_option("--data", flags->data, "BEIR directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
      ->required();
  command->add_option("--pipeline", flags->pipeline_file, "pipeline file (default: text_search, top_k 100)");
  command->add_option("--split", flags->split, "qrels split");
  command->add_option("--max-queries", flags->max_queries, "evaluate only the first N queries");
  command->add_flag("--json", flags->json, "one JSON object");
  command->add_option("--threads", flags->threads, "compute threads for models")->check(CLI::Range(0, 1024));
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_eval(*flags); });
}

}  // namespace winnow::cli

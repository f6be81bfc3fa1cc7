#include "eval/beir.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace winnow::eval {

using base::Result;

namespace {

// Calls `each(line_number, json)` for every non-blank line of a JSON Lines file.
template <typename Each>
base::Status for_each_json_line(const std::filesystem::path& path, Each each) {
  std::ifstream in(path);
  if (!in) return base::not_found(path.string() + ": cannot open");
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
      return base::invalid_argument(path.string() + " line " + std::to_string(number) + ": not a JSON object");
    }
    WINNOW_RETURN_IF_ERROR(each(number, value));
  }
  if (in.bad()) return base::data_loss(path.string() + ": read error");
  return {};
}

Result<std::string> string_field(const nlohmann::json& value, const char* key, const std::filesystem::path& path,
                                 std::size_t line, bool required) {
  auto it = value.find(key);
  if (it == value.end() || it->is_null()) {
    if (required) {
      return base::invalid_argument(path.string() + " line " + std::to_string(line) + ": missing '" + key + "'");
    }
    return std::string();
  }
  if (!it->is_string()) {
    return base::invalid_argument(path.string() + " line " + std::to_string(line) + ": '" + key +
                                  "' must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

Result<std::vector<BeirDocument>> read_beir_corpus(const std::filesystem::path& path) {
  std::vector<BeirDocument> corpus;
  WINNOW_RETURN_IF_ERROR(for_each_json_line(path, [&](std::size_t line, const nlohmann::json& value) -> base::Status {
    BeirDocument document;
    WINNOW_ASSIGN_OR_RETURN(document.id, string_field(value, "_id", path, line, true));
    WINNOW_ASSIGN_OR_RETURN(document.title, string_field(value, "title", path, line, false));
    WINNOW_ASSIGN_OR_RETURN(document.text, string_field(value, "text", path, line, false));
    corpus.push_back(std::move(document));
    return {};
  }));
  return corpus;
}

Result<std::vector<BeirQuery>> read_beir_queries(const std::filesystem::path& path) {
  std::vector<BeirQuery> queries;
  WINNOW_RETURN_IF_ERROR(for_each_json_line(path, [&](std::size_t line, const nlohmann::json& value) -> base::Status {
    BeirQuery query;
    WINNOW_ASSIGN_OR_RETURN(query.id, string_field(value, "_id", path, line, true));
    WINNOW_ASSIGN_OR_RETURN(query.text, string_field(value, "text", path, line, true));
    queries.push_back(std::move(query));
    return {};
  }));
  return queries;
}

Result<Qrels> read_beir_qrels(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return base::not_found(path.string() + ": cannot open");
  Qrels qrels;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string query_id, doc_id, score_text;
    if (!std::getline(fields, query_id, '\t') || !std::getline(fields, doc_id, '\t') ||
        !std::getline(fields, score_text, '\t')) {
      return base::invalid_argument(path.string() + " line " + std::to_string(number) +
                                    ": expected query-id<TAB>corpus-id<TAB>score");
    }
    if (number == 1 && query_id == "query-id") continue;  // header
    try {
      qrels[query_id][doc_id] = std::stoi(score_text);
    } catch (const std::exception&) {
      return base::invalid_argument(path.string() + " line " + std::to_string(number) + ": score '" + score_text +
                                    "' is not an integer");
    }
  }
  return qrels;
}

Result<BeirDataset> read_beir_dataset(const std::filesystem::path& dir, const std::string& split) {
  BeirDataset dataset;
  WINNOW_ASSIGN_OR_RETURN(dataset.corpus, read_beir_corpus(dir / "corpus.jsonl"));
  WINNOW_ASSIGN_OR_RETURN(dataset.qrels, read_beir_qrels(dir / "qrels" / (split + ".tsv")));
  WINNOW_ASSIGN_OR_RETURN(std::vector<BeirQuery> queries, read_beir_queries(dir / "queries.jsonl"));
  for (auto& query : queries) {
    if (dataset.qrels.count(query.id)) dataset.queries.push_back(std::move(query));
  }
  return dataset;
}

std::string beir_document_ndjson(const BeirDocument& document) {
  nlohmann::ordered_json line = {{"id", document.id}, {"title", document.title}, {"text", document.text}};
  return line.dump();
}

}  // namespace winnow::eval

// Shared data and helpers of the end-to-end tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/server_process.h"

namespace winnow::testing {

inline std::filesystem::path test_data() { return WINNOW_TEST_DATA; }
inline std::string model_path(const std::string& name) { return (test_data() / "models" / name).string(); }

// The flags that let requests name the fixture models by path (a server's
// model policy refuses paths outside its --model-dir roots).
inline std::vector<std::string> fixture_models(std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--model-dir", (test_data() / "models").string()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("winnow_e2e_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The first `n` SciFact documents as Winnow NDJSON, with metadata a filter can
// use: category alternates biology / physics / chemistry, year 2000 + i % 25.
inline std::string scifact_ndjson(std::size_t n) {
  std::ifstream in(test_data() / "scifact" / "corpus.jsonl");
  std::string line, out;
  const char* categories[] = {"biology", "physics", "chemistry"};
  for (std::size_t i = 0; i < n && std::getline(in, line); ++i) {
    auto d = nlohmann::json::parse(line);
    nlohmann::json doc = {{"id", d["_id"]},
                          {"title", d["title"]},
                          {"text", d["text"]},
                          {"metadata", {{"category", categories[i % 3]}, {"year", 2000 + static_cast<int>(i % 25)}}}};
    out += doc.dump() + "\n";
  }
  return out;
}

inline nlohmann::json stage(const std::string& type, const std::string& id, nlohmann::json parameters) {
  return {{"stage_type", type}, {"stage_id", id}, {"parameters", std::move(parameters)}};
}

}  // namespace winnow::testing

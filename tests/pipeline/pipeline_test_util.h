// A real store in a temporary directory and fake models, for pipeline tests.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/executor.h"
#include "rerankers/reranker.h"
#include "store/store.h"

namespace winnow::pipeline::testing {

// Scores a document by how many distinct query words it contains, plus a tiny
// length term so ties are rare: a stand-in cross-encoder whose ranking a test
// can predict.
class OverlapReranker : public rerankers::Reranker {
 public:
  base::Result<rerankers::RerankOutcome> rerank(std::string_view query, std::span<const std::string> documents,
                                                std::size_t top_n,
                                                const rerankers::RerankOptions& = {}) const override {
    std::set<std::string> words;
    std::istringstream q{std::string(query)};
    for (std::string w; q >> w;) words.insert(w);
    std::vector<float> logits;
    for (const std::string& d : documents) {
      std::set<std::string> seen;
      std::istringstream in(d);
      for (std::string w; in >> w;) {
        if (words.count(w)) seen.insert(w);
      }
      logits.push_back(static_cast<float>(seen.size()) - 0.001f * static_cast<float>(d.size() % 100));
    }
    rerankers::RerankOutcome outcome;
    for (std::size_t i = 0; i < logits.size(); ++i) outcome.results.push_back({i, logits[i] / 10.0, logits[i]});
    std::stable_sort(outcome.results.begin(), outcome.results.end(),
                     [](const auto& a, const auto& b) { return a.logit > b.logit; });
    if (outcome.results.size() > top_n) outcome.results.resize(top_n);
    outcome.documents_scored = documents.size();
    outcome.model = "overlap";
    ++calls;
    return outcome;
  }
  mutable int calls = 0;
};

class PipelineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("winnow_pipeline_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = store::Store::open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
    reranker_ = std::make_shared<OverlapReranker>();
    services_.store = store_.get();
    services_.reranker = [this](std::string_view model) -> base::Result<std::shared_ptr<const rerankers::Reranker>> {
      if (model != "overlap") return base::not_found("unknown model \"" + std::string(model) + "\"");
      return std::shared_ptr<const rerankers::Reranker>(reranker_);
    };
    services_.embed = [](std::string_view model,
                         std::span<const std::string> texts) -> base::Result<std::vector<std::vector<float>>> {
      if (model != "bag-of-letters") return base::not_found("unknown embedding model \"" + std::string(model) + "\"");
      std::vector<std::vector<float>> out;
      for (const std::string& t : texts) out.push_back(bag_of_letters(t));
      return out;
    };
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A 4-d "embedding": counts of a, e, i, o.
  static std::vector<float> bag_of_letters(std::string_view text) {
    std::vector<float> v(4, 0.01f);
    for (char c : text) {
      if (c == 'a') v[0] += 1;
      if (c == 'e') v[1] += 1;
      if (c == 'i') v[2] += 1;
      if (c == 'o') v[3] += 1;
    }
    return v;
  }

  void create(const std::string& collection, const nlohmann::json& settings, const std::string& ndjson) {
    auto c = store_->create_collection(collection, settings);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    std::istringstream in(ndjson);
    auto report = store_->ingest(collection, in);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->bad_lines, 0u) << (report->errors.empty() ? "" : report->errors[0].error);
  }

  base::Result<PipelineResult> run(const std::vector<std::string>& collections, const nlohmann::json& stages,
                                   const nlohmann::json& inputs, const nlohmann::json& schema = nullptr) {
    return execute_pipeline(services_, limits_, {collections, stages, inputs, schema});
  }

  static std::vector<std::string> ids(const PipelineResult& r) {
    std::vector<std::string> out;
    for (const Candidate& c : r.documents) out.push_back(c.document_id);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<OverlapReranker> reranker_;
  PipelineServices services_;
  PipelineLimits limits_;
};

}  // namespace winnow::pipeline::testing

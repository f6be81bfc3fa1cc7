// Declarative pipeline cases: every tests/pipeline/cases/*.json is a pipeline,
// its documents and inputs, and the document ids expected in order (or the
// error expected). Add a case without writing C++; name regressions after the
// issue that found them.
//
//   {"description": "...",
//    "collections": {"papers": {"settings": {...}, "documents": [{...}, ...]}},
//    "collection_ids": ["papers"], "input_schema": {...}?, "stages": [...], "inputs": {...},
//    "expect_ids": ["d3", "d1"] | "expect_error": "text the error must contain",
//    "expect_counts": [[in, out], ...]?}
//
// Models available: reranker "overlap" (counts query words in the document),
// embedding model "bag-of-letters" (counts of a, e, i, o).
#include <fstream>

#include "pipeline/pipeline_test_util.h"

namespace winnow::pipeline::testing {
namespace {

std::vector<std::filesystem::path> case_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(WINNOW_TEST_DATA).parent_path() /
                                                               "pipeline" / "cases")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class PipelineCaseTest : public PipelineFixture, public ::testing::WithParamInterface<std::filesystem::path> {};

TEST_P(PipelineCaseTest, Runs) {
  nlohmann::json spec = nlohmann::json::parse(std::ifstream(GetParam()));
  SCOPED_TRACE(GetParam().filename().string() + ": " + spec.value("description", ""));
  for (auto it = spec["collections"].begin(); it != spec["collections"].end(); ++it) {
    std::string ndjson;
    for (const auto& d : (*it)["documents"]) ndjson += d.dump() + "\n";
    create(it.key(), it->value("settings", nlohmann::json::object()), ndjson);
  }
  auto result = run(spec["collection_ids"].get<std::vector<std::string>>(), spec["stages"],
                    spec.value("inputs", nlohmann::json::object()), spec.value("input_schema", nlohmann::json()));
  if (spec.contains("expect_error")) {
    ASSERT_FALSE(result.ok()) << "expected an error";
    EXPECT_NE(result.status().message().find(spec["expect_error"].get<std::string>()), std::string::npos)
        << result.status().message();
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(ids(*result), spec["expect_ids"].get<std::vector<std::string>>());
  if (spec.contains("expect_counts")) {
    ASSERT_EQ(result->stages.size(), spec["expect_counts"].size());
    for (std::size_t i = 0; i < result->stages.size(); ++i) {
      EXPECT_EQ(result->stages[i].documents_in, spec["expect_counts"][i][0].get<std::size_t>()) << "stage " << i;
      EXPECT_EQ(result->stages[i].documents_out, spec["expect_counts"][i][1].get<std::size_t>()) << "stage " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PipelineCaseTest, ::testing::ValuesIn(case_files()),
                         [](const auto& param_info) {
                           std::string name = param_info.param.stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace winnow::pipeline::testing

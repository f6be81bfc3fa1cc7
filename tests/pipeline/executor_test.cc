#include "pipeline/executor.h"

#include "pipeline/pipeline_test_util.h"
#include "pipeline/stages/hybrid_search_stage.h"

namespace winnow::pipeline::testing {
namespace {

using nlohmann::json;

json stage(const std::string& type, const std::string& id, json parameters) {
  return {{"stage_type", type}, {"stage_id", id}, {"parameters", std::move(parameters)}};
}

std::string validation_error(const json& stages, const json& schema = nullptr) {
  base::Status s = validate_pipeline(stages, schema);
  return s.ok() ? "" : s.message();
}

// A list of stages (nlohmann reads a one-element brace list as that element).
std::string validation_error(std::initializer_list<json> stages, const json& schema = nullptr) {
  return validation_error(json::array_t(stages), schema);
}

TEST(ValidatePipelineTest, NamesTheStageIndexAndParameter) {
  EXPECT_EQ(validation_error(json::array()), "stages: must be a non-empty array of stages");
  EXPECT_EQ(validation_error({stage("filter", "bm25_search", json::object())}),
            "stages[0]: unknown stage_id \"bm25_search\" (known: semantic_search, text_search, hybrid_search, "
            "structured_filter, rerank, sort_by_field, limit)");
  EXPECT_EQ(validation_error({stage("filter", "text_search", json::object()), stage("filter", "rerank", {{"model", "m"}})}),
            "stages[1] (rerank): stage_type \"filter\" does not match rerank, which is a \"sort\" stage");
  EXPECT_EQ(validation_error({stage("sort", "rerank", json::object())}), "stages[0] (rerank): parameter \"model\" is required");
  EXPECT_EQ(validation_error({stage("sort", "rerank", {{"model", "m"}, {"top_n", "ten"}})}),
            "stages[0] (rerank): parameter \"top_n\" must be an integer from 1 to 10000, got \"ten\"");
  EXPECT_EQ(validation_error({stage("sort", "rerank", {{"model", "m"}, {"instruction", 3}})}),
            "stages[0] (rerank): parameter \"instruction\" must be a string, got 3");
  EXPECT_EQ(validation_error({stage("sort", "rerank", {{"model", "m"}, {"instruction", "Judge code"}})}), "");
  EXPECT_EQ(validation_error({stage("filter", "text_search", {{"topk", 5}})}),
            "stages[0] (text_search): unknown parameter \"topk\" (known: query, top_k)");
  EXPECT_EQ(validation_error({stage("reduce", "limit", {{"limit", -1}})}),
            "stages[0] (limit): parameter \"limit\" must be an integer from 0 to 1000000, got -1");
  EXPECT_EQ(validation_error({stage("filter", "structured_filter",
                                    {{"conditions", {{"field", "metadata.x"}, {"operator", "like"}, {"value", 1}}}})}),
            "stages[0] (structured_filter): parameter \"conditions\".operator: unknown operator \"like\" (eq, ne, gt, "
            "gte, lt, lte, in, nin, contains, exists)");
  EXPECT_EQ(validation_error({{{"stage_id", "limit"}, {"parameters", {{"limit", 1}}}}}),
            "stages[0] (limit): needs a string \"stage_type\" (\"reduce\" for limit)");
}

TEST(ValidatePipelineTest, TemplatesAreCheckedAgainstTheInputSchema) {
  json stages = json::array({stage("filter", "text_search", {{"query", "{{INPUT.question}}"}, {"top_k", "{{INPUT.k}}"}})});
  EXPECT_EQ(validation_error(stages), "") << "without a schema any input may be named";
  EXPECT_EQ(validation_error(stages, {{"question", {{"type", "string"}}}}),
            "stages[0] (text_search): uses {{INPUT.k}} but input_schema has no \"k\"");
  EXPECT_EQ(validation_error(stages, {{"question", {{"type", "string"}}}, {"k", {{"type", "integer"}}}}), "");
  EXPECT_EQ(validation_error({stage("filter", "text_search", {{"query", "{{query}}"}})}),
            "stages[0] (text_search) parameters.query: template \"{{query}}\" must have the form {{INPUT.name}}");
}

TEST(InputSchemaTest, RequiredTypesAndDefaults) {
  json schema = {{"type", "object"},
                 {"properties", {{"query", {{"type", "string"}}}, {"k", {{"type", "integer"}, {"default", 5}}}}},
                 {"required", {"query"}}};
  auto filled = apply_input_schema(schema, {{"query", "q"}});
  ASSERT_TRUE(filled.ok()) << filled.status().to_string();
  EXPECT_EQ((*filled)["k"], 5);
  EXPECT_EQ(apply_input_schema(schema, json::object()).status().message(), "inputs: missing required input \"query\"");
  EXPECT_EQ(apply_input_schema(schema, {{"query", 3}}).status().message(), "inputs.query: must be a string, got 3");
  EXPECT_EQ(apply_input_schema(schema, json::array()).status().message(), "inputs: must be an object");
  // A default that is not of its input's type is the schema's mistake, found before anything runs.
  json bad_default = {{"query", {{"type", "string"}, {"default", 5}}}};
  EXPECT_EQ(apply_input_schema(bad_default, {{"query", "q"}}).status().message(),
            "input_schema.query.default: 5 is not of its type, string");
  json stages = json::array({{{"stage_type", "filter"}, {"stage_id", "text_search"}, {"parameters", json::object()}}});
  ASSERT_TRUE(validate_pipeline(stages, nullptr).ok());
  EXPECT_NE(validate_pipeline(stages, bad_default).message().find(".default: 5"), std::string::npos);
}

TEST(FuseRankingsTest, ReciprocalRankAndWeighted) {
  auto list = [](std::vector<std::pair<std::string, double>> items) {
    std::vector<Candidate> out;
    for (auto& [id, score] : items) out.push_back({"c", id, score, {}, {}, nullptr});
    return out;
  };
  auto lexical = list({{"a", 9}, {"b", 5}, {"c", 1}});
  auto dense = list({{"c", 0.9}, {"b", 0.8}});
  auto rrf = fuse_rankings({lexical, dense}, {1, 1}, Fusion::kReciprocalRank, 60);
  ASSERT_EQ(rrf.size(), 3u);
  EXPECT_EQ(rrf[0].document_id, "c");  // 1/63 + 1/61
  EXPECT_NEAR(rrf[0].score, 1.0 / 63 + 1.0 / 61, 1e-12);
  EXPECT_EQ(rrf[1].document_id, "b");  // 1/62 + 1/62
  EXPECT_NEAR(rrf[1].score, 2.0 / 62, 1e-12);
  EXPECT_EQ(rrf[2].document_id, "a");
  // Min-max normalised: a = 0.5 * 1; c = 0.5 * 0 + 0.5 * 1 (tie with a, which came first); b = 0.5 * 0.5 + 0.
  auto weighted = fuse_rankings({lexical, dense}, {0.5, 0.5}, Fusion::kWeighted, 60);
  ASSERT_EQ(weighted.size(), 3u);
  EXPECT_EQ(weighted[0].document_id, "a");
  EXPECT_EQ(weighted[1].document_id, "c");
  EXPECT_NEAR(weighted[1].score, 0.5, 1e-12);
  EXPECT_EQ(weighted[2].document_id, "b");
  EXPECT_NEAR(weighted[2].score, 0.25, 1e-12);
}

class ExecutorTest : public PipelineFixture {};

TEST_F(ExecutorTest, RerankSetsPositionsAndKeepsThePreviousScore) {
  create("papers", json::object(),
         R"({"id": "1", "text": "alpha beta"})" "\n" R"({"id": "2", "text": "alpha"})" "\n"
         R"({"id": "3", "text": "alpha beta gamma"})" "\n");
  json stages = json::array({stage("filter", "text_search", {{"top_k", 10}}), stage("sort", "rerank", {{"model", "overlap"}})});
  auto bm25 = run({"papers"}, json::array({stages[0]}), {{"query", "alpha beta gamma"}});
  auto reranked = run({"papers"}, stages, {{"query", "alpha beta gamma"}});
  ASSERT_TRUE(bm25.ok() && reranked.ok()) << reranked.status().to_string();
  ASSERT_EQ(reranked->documents.size(), 3u);
  for (std::size_t i = 0; i < reranked->documents.size(); ++i) {
    const Candidate& c = reranked->documents[i];
    EXPECT_EQ(c.rerank_position, i + 1);
    if (i > 0) {
      EXPECT_GE(reranked->documents[i - 1].score, c.score);
    }
    auto previous = std::find_if(bm25->documents.begin(), bm25->documents.end(),
                                 [&](const Candidate& b) { return b.document_id == c.document_id; });
    ASSERT_NE(previous, bm25->documents.end());
    EXPECT_DOUBLE_EQ(*c.original_score, previous->score);
  }
  EXPECT_EQ(reranked->documents[0].document_id, "3");
  json response = pipeline_result_json(*reranked, std::nullopt);
  EXPECT_EQ(response["documents"][0]["fields"]["text"], "alpha beta gamma");
  EXPECT_EQ(response["documents"][0]["rerank_position"], 1);
  EXPECT_EQ(response["stages"][1]["model"], "overlap");
  EXPECT_EQ(response["stages"][1]["candidates_scored"], 3);
  EXPECT_EQ(response["stages"][0]["stage_type"], "filter");
  EXPECT_TRUE(response["total_ms"].is_number());
  json trimmed = pipeline_result_json(*reranked, std::vector<std::string>{"metadata"});
  EXPECT_TRUE(trimmed["documents"][0]["fields"].empty());
  EXPECT_TRUE(trimmed["documents"][0].contains("metadata"));
}

TEST_F(ExecutorTest, NothingRunsWhenALaterStageIsInvalid) {
  create("papers", json::object(), R"({"id": "1", "text": "alpha"})" "\n");
  json stages = json::array({stage("filter", "text_search", {{"top_k", 10}}), stage("sort", "rerank", {{"model", "overlap"}}),
                 stage("reduce", "limit", {{"limit", "{{INPUT.n}}"}})});
  auto result = run({"papers"}, stages, {{"query", "alpha"}, {"n", "five"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "stages[2] (limit): parameter \"limit\" must be an integer from 0 to 1000000, got \"five\"");
  EXPECT_EQ(reranker_->calls, 0);
}

TEST_F(ExecutorTest, UnknownCollectionAndModelAreNamed) {
  auto missing = run({"nope"}, json::array({stage("filter", "text_search", {{"top_k", 1}})}), {{"query", "x"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos) << missing.status().message();
  create("papers", json::object(), R"({"id": "1", "text": "alpha"})" "\n");
  auto model = run({"papers"}, json::array({stage("filter", "text_search", {}), stage("sort", "rerank", {{"model", "bge-x"}})}),
                   {{"query", "alpha"}});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "stages[1] (rerank): unknown model \"bge-x\"");
}

}  // namespace
}  // namespace winnow::pipeline::testing

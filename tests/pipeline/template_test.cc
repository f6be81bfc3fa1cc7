#include "pipeline/template.h"

#include <gtest/gtest.h>

namespace winnow::pipeline {
namespace {

using nlohmann::json;

TEST(TemplateTest, WholeValueTemplateKeepsTheInputsType) {
  json inputs = {{"top_k", 5}, {"query", "cats"}, {"tags", {"a", "b"}}, {"flag", true}};
  auto filled = fill_templates(json{{"k", "{{INPUT.top_k}}"}, {"t", "{{ INPUT.tags }}"}, {"f", "{{INPUT.flag}}"}},
                               inputs, "stages[0]");
  ASSERT_TRUE(filled.ok()) << filled.status().to_string();
  EXPECT_EQ((*filled)["k"], 5);
  EXPECT_EQ((*filled)["t"], json({"a", "b"}));
  EXPECT_EQ((*filled)["f"], true);
}

TEST(TemplateTest, TemplateInsideAStringIsReplacedByText) {
  json inputs = {{"query", "cats"}, {"n", 3}};
  auto filled = fill_templates(json("about {{INPUT.query}} x{{INPUT.n}}"), inputs, "p");
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(*filled, "about cats x3");
}

TEST(TemplateTest, FillsNestedConditionsAndDottedInputs) {
  json inputs = {{"filters", {{"category", "biology"}}}};
  json spec = {{"AND", {{{"field", "metadata.category"}, {"operator", "eq"}, {"value", "{{INPUT.filters.category}}"}}}}};
  auto filled = fill_templates(spec, inputs, "p");
  ASSERT_TRUE(filled.ok()) << filled.status().to_string();
  EXPECT_EQ((*filled)["AND"][0]["value"], "biology");
}

TEST(TemplateTest, MissingInputNamesTheInputAndThePlace) {
  auto filled = fill_templates(json{{"query", "{{INPUT.query}}"}}, json::object(), "stages[2] (rerank) parameters");
  ASSERT_FALSE(filled.ok());
  EXPECT_EQ(filled.status().message(),
            "stages[2] (rerank) parameters.query: missing input \"query\" (used as {{INPUT.query}})");
}

TEST(TemplateTest, MalformedTemplatesAreErrors) {
  EXPECT_FALSE(referenced_inputs(json("{{INPUT.}}"), "p").ok());
  EXPECT_FALSE(referenced_inputs(json("{{query}}"), "p").ok());
  EXPECT_FALSE(referenced_inputs(json("{{INPUT.query"), "p").ok());
  auto names = referenced_inputs(json{{"a", "{{INPUT.q}}"}, {"b", {"{{INPUT.c}} {{INPUT.q}}"}}}, "p");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"q", "c"}));
  EXPECT_TRUE(has_templates(json{{"x", {1, "{{INPUT.q}}"}}}));
  EXPECT_FALSE(has_templates(json{{"x", "{not a template}"}}));
}

}  // namespace
}  // namespace winnow::pipeline

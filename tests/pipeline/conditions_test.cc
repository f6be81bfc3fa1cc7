#include "pipeline/conditions.h"

#include <gtest/gtest.h>

namespace winnow::pipeline {
namespace {

using nlohmann::json;

json doc() {
  return {{"title", "Cross-encoders for reranking"},
          {"metadata", {{"category", "biology"}, {"year", 2021}, {"tags", {"ml", "ir"}}, {"score", 0.5}}}};
}

bool eval(const json& spec) {
  auto c = Condition::parse(spec, "conditions");
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() && c->matches(doc());
}

TEST(ConditionsTest, Operators) {
  EXPECT_TRUE(eval({{"field", "metadata.category"}, {"operator", "eq"}, {"value", "biology"}}));
  EXPECT_FALSE(eval({{"field", "metadata.category"}, {"operator", "ne"}, {"value", "biology"}}));
  EXPECT_TRUE(eval({{"field", "metadata.year"}, {"operator", "gte"}, {"value", 2021}}));
  EXPECT_TRUE(eval({{"field", "metadata.year"}, {"operator", "eq"}, {"value", 2021.0}}));
  EXPECT_FALSE(eval({{"field", "metadata.year"}, {"operator", "gt"}, {"value", 2021}}));
  EXPECT_TRUE(eval({{"field", "metadata.score"}, {"operator", "lt"}, {"value", 1}}));
  EXPECT_TRUE(eval({{"field", "metadata.score"}, {"operator", "lte"}, {"value", 0.5}}));
  EXPECT_TRUE(eval({{"field", "metadata.category"}, {"operator", "in"}, {"value", {"physics", "biology"}}}));
  EXPECT_TRUE(eval({{"field", "metadata.category"}, {"operator", "nin"}, {"value", {"physics"}}}));
  EXPECT_TRUE(eval({{"field", "metadata.tags"}, {"operator", "contains"}, {"value", "ir"}}));
  EXPECT_TRUE(eval({{"field", "title"}, {"operator", "contains"}, {"value", "rerank"}}));
  EXPECT_TRUE(eval({{"field", "metadata.year"}, {"operator", "exists"}, {"value", true}}));
  EXPECT_TRUE(eval({{"field", "metadata.missing"}, {"operator", "exists"}, {"value", false}}));
  EXPECT_TRUE(eval({{"field", "metadata.missing"}, {"operator", "ne"}, {"value", 1}}));
  EXPECT_FALSE(eval({{"field", "metadata.missing"}, {"operator", "eq"}, {"value", 1}}));
  EXPECT_FALSE(eval({{"field", "metadata.category"}, {"operator", "gt"}, {"value", 5}})) << "no order across types";
}

TEST(ConditionsTest, AndOrNotNest) {
  json year = {{"field", "metadata.year"}, {"operator", "gt"}, {"value", 2000}};
  json physics = {{"field", "metadata.category"}, {"operator", "eq"}, {"value", "physics"}};
  EXPECT_TRUE(eval({{"AND", {year, {{"NOT", physics}}}}}));
  EXPECT_TRUE(eval({{"or", {physics, year}}}));
  EXPECT_FALSE(eval({{"AND", {physics, year}}}));
}

// issue 10: 10,000 nested ANDs crashed the server (stack overflow).
TEST(ConditionsTest, NestingPastTheLimitIsRefused) {
  const json leaf = {{"field", "metadata.year"}, {"operator", "gte"}, {"value", 2020}};
  auto nested = [&](std::size_t groups, const char* group) {
    json c = leaf;
    for (std::size_t i = 0; i < groups; ++i) c = std::string(group) == "NOT" ? json{{group, c}} : json{{group, {c}}};
    return c;
  };
  EXPECT_TRUE(Condition::parse(nested(kMaxConditionDepth, "AND"), "conditions").ok());
  for (const char* group : {"AND", "OR", "NOT"}) {
    auto refused = Condition::parse(nested(kMaxConditionDepth + 1, group), "conditions");
    ASSERT_FALSE(refused.ok()) << group;
    EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("nested deeper than 64 levels"), std::string::npos)
        << refused.status().message();
  }
  auto ok = Condition::parse(nested(kMaxConditionDepth, "NOT"), "conditions");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->matches(doc()));  // 64 NOTs cancel out: year 2021 >= 2020
}

TEST(ConditionsTest, ErrorsNameTheNode) {
  auto bad = Condition::parse({{"AND", {{{"field", "x"}, {"operator", "like"}, {"value", 1}}}}}, "stages[1].conditions");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "stages[1].conditions.AND[0].operator: unknown operator \"like\" (eq, ne, gt, gte, lt, lte, in, nin, "
            "contains, exists)");
  EXPECT_FALSE(Condition::parse({{"field", "x"}, {"operator", "in"}, {"value", 3}}, "c").ok());
  EXPECT_FALSE(Condition::parse({{"field", "x"}, {"operator", "eq"}}, "c").ok());
  EXPECT_FALSE(Condition::parse({{"field", "a..b"}, {"operator", "eq"}, {"value", 1}}, "c").ok());
  EXPECT_FALSE(Condition::parse({{"AND", json::array()}}, "c").ok());
  EXPECT_FALSE(Condition::parse(json("x"), "c").ok());
  EXPECT_FALSE(Condition::parse({{"field", "x"}, {"operator", "eq"}, {"value", 1}, {"extra", 2}}, "c").ok());
}

}  // namespace
}  // namespace winnow::pipeline

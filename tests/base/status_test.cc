#include "base/status.h"

#include <gtest/gtest.h>

namespace winnow::base {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument("x must be positive, got " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  WINNOW_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}

Status check(int x) {
  WINNOW_RETURN_IF_ERROR(parse_positive(x).status());
  return {};
}

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(StatusTest, CarriesCodeAndMessageWithContext) {
  Status s = not_found("no such file").with_context("config.json");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "config.json: no such file");
  EXPECT_EQ(s.to_string(), "NotFound: config.json: no such file");
}

TEST(StatusTest, MacrosPropagateErrors) {
  auto good = doubled(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "x must be positive, got -1");
  EXPECT_TRUE(check(1).ok());
  EXPECT_FALSE(check(0).ok());
}

}  // namespace
}  // namespace winnow::base

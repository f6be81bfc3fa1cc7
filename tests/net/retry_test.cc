#include "net/retry.h"

#include <gtest/gtest.h>

namespace winnow::net {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesFromTheBaseWithJitterAndStopsAtTheCap) {
  RetryPolicy policy{5, milliseconds(100), milliseconds(1000)};
  for (int i = 0; i < 20; ++i) {
    const auto first = backoff_delay(policy, 0);
    EXPECT_GE(first.count(), 80);
    EXPECT_LE(first.count(), 120);
    const auto third = backoff_delay(policy, 2);
    EXPECT_GE(third.count(), 320);
    EXPECT_LE(third.count(), 480);
    EXPECT_LE(backoff_delay(policy, 10).count(), 1000);
    EXPECT_GE(backoff_delay(policy, 10).count(), 800);
  }
}

TEST(RetryAfter, ReadsSecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("1", now), milliseconds(1000));
  EXPECT_EQ(parse_retry_after(" 120 ", now), milliseconds(120'000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds(30'000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), milliseconds(0));  // in the past: now
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("", now).has_value());
  EXPECT_FALSE(parse_retry_after("-3", now).has_value());
}

}  // namespace
}  // namespace winnow::net

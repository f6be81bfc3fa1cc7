#include "server/metrics.h"

#include <gtest/gtest.h>

namespace winnow::server {
namespace {

TEST(MetricsTest, RendersCountersAndCumulativeHistograms) {
  Metrics m;
  m.declare_counter("winnow_requests_total", "Requests by route and status.");
  m.declare_histogram("winnow_request_seconds", "Request latency.", {0.1, 1});
  m.increment("winnow_requests_total", {{"route", "/v1/rerank"}, {"status", "200"}});
  m.increment("winnow_requests_total", {{"route", "/v1/rerank"}, {"status", "200"}});
  m.observe("winnow_request_seconds", {{"route", "/v1/rerank"}}, 0.05);
  m.observe("winnow_request_seconds", {{"route", "/v1/rerank"}}, 0.5);
  m.observe("winnow_request_seconds", {{"route", "/v1/rerank"}}, 5);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE winnow_requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("winnow_requests_total{route=\"/v1/rerank\",status=\"200\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("winnow_request_seconds_bucket{route=\"/v1/rerank\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("winnow_request_seconds_bucket{route=\"/v1/rerank\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("winnow_request_seconds_bucket{route=\"/v1/rerank\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("winnow_request_seconds_count{route=\"/v1/rerank\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("winnow_request_seconds_sum{route=\"/v1/rerank\"} 5.55\n"), std::string::npos) << text;
}

TEST(MetricsTest, EscapesLabelValues) {
  Metrics m;
  m.declare_gauge("g", "A gauge.");
  m.set("g", {{"model", "a\"b\\c"}}, 3);
  EXPECT_NE(m.render().find("g{model=\"a\\\"b\\\\c\"} 3\n"), std::string::npos) << m.render();
}

}  // namespace
}  // namespace winnow::server

// The dispatcher (server/api.h) without a network: routing on raw paths,
// decoding after routing, auth, CORS, and the last-resort catch; and the
// transport in-process with a handler that throws.
#include "server/api.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "base/call_context.h"
#include "base/files.h"
#include "server/admission.h"
#include "server/http_transport.h"
#include "support/raw_http.h"

namespace winnow::server {
namespace {

Request make_request(const std::string& method, const std::string& target) {
  Request r;
  r.method = method;
  r.target = target;
  r.path = target.substr(0, target.find('?'));
  r.id = "test-id";
  return r;
}

Handler echo_params() {
  return [](const Request& req) -> base::Result<Reply> {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [k, v] : req.path_params) params[k] = v;
    nlohmann::json query = nlohmann::json::array();
    for (const auto& [k, v] : req.query_params) query.push_back({k, v});
    return Reply{200, {{"params", params}, {"query", query}}};
  };
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    declare_metrics(context_.metrics);
    api_.get("/v1/collections/{id}", echo_params());
    api_.get("/v1/collections/{id}/documents", echo_params());
    api_.post("/v1/collections/{id}/documents", echo_params());
    api_.get("/boom", [](const Request&) -> base::Result<Reply> { throw std::runtime_error("kaboom"); });
    api_.get("/boom-int", [](const Request&) -> base::Result<Reply> { throw 42; });
    api_.get("/open", echo_params(), Access::kPublic, Lane::kInline);
  }

  nlohmann::json run(Request& request, int expected_status) {
    Dispatch d = api_.route(request);
    Response r = d.answer ? *d.answer : api_.run(*d.route, request);
    EXPECT_EQ(r.status, expected_status) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  ServerContext context_;
  Api api_{context_};
};

TEST(RouteMatchTest, ParametersTakeOneRawSegment) {
  Params params;
  EXPECT_TRUE(match_route({"", "v1", "collections", "{id}"}, "/v1/collections/a%2Fb", &params));
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].second, "a%2Fb") << "raw until the route matched";
  EXPECT_FALSE(match_route({"", "v1", "collections", "{id}"}, "/v1/collections/a/b", nullptr));
  EXPECT_FALSE(match_route({"", "v1", "collections", "{id}"}, "/v1/collections/", nullptr));
  EXPECT_FALSE(match_route({"", "health"}, "/health/", nullptr));
}

TEST(PercentDecodeTest, DecodesAndRefusesMalformedEscapes) {
  EXPECT_EQ(*percent_decode("rel%2Fdocuments", false, "x"), "rel/documents");
  EXPECT_EQ(*percent_decode("a+b%20c", true, "x"), "a b c");
  EXPECT_EQ(*percent_decode("a+b", false, "x"), "a+b");
  EXPECT_EQ(*percent_decode("%C3%A9", false, "x"), "\xC3\xA9");
  EXPECT_FALSE(percent_decode("%4", false, "x").ok());
  EXPECT_FALSE(percent_decode("%zz", false, "x").ok());
  EXPECT_FALSE(percent_decode("a%00b", false, "path parameter id").ok());
  EXPECT_NE(percent_decode("%zz", false, "path parameter id").status().message().find("path parameter id"),
            std::string::npos);
  auto query = parse_query("after=a%26b&limit=5&flag&&x=1+2");
  ASSERT_TRUE(query.ok());
  ASSERT_EQ(query->size(), 4u);
  EXPECT_EQ((*query)[0], (std::pair<std::string, std::string>{"after", "a&b"}));
  EXPECT_EQ((*query)[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ((*query)[3], (std::pair<std::string, std::string>{"x", "1 2"}));
}

TEST_F(ApiTest, RoutesOnTheRawPathThenDecodes) {
  Request r = make_request("GET", "/v1/collections/rel%2Fdocuments");
  nlohmann::json body = run(r, 200);
  EXPECT_EQ(body["params"]["id"], "rel/documents") << "one collection id, never the documents route";
  Request q = make_request("GET", "/v1/collections/c/documents?after=x%2By&limit=%35");
  body = run(q, 200);
  EXPECT_EQ(body["params"]["id"], "c");
  EXPECT_EQ(body["query"][0][1], "x+y");
  EXPECT_EQ(body["query"][1][1], "5");
  Request bad = make_request("GET", "/v1/collections/a%zz");
  body = run(bad, 400);
  EXPECT_EQ(body["error"]["code"], "invalid_argument");
}

TEST_F(ApiTest, UnknownRoutesAre404AndWrongMethods405) {
  Request r = make_request("GET", "/v2/nothing");
  EXPECT_NE(run(r, 404)["error"]["message"].get<std::string>().find("no such route"), std::string::npos);
  Request d = make_request("DELETE", "/v1/collections/c/documents");
  Dispatch dispatch = api_.route(d);
  ASSERT_TRUE(dispatch.answer);
  EXPECT_EQ(dispatch.answer->status, 405);
  ASSERT_FALSE(dispatch.answer->headers.empty());
  EXPECT_EQ(dispatch.answer->headers[0].first, "Allow");
  EXPECT_NE(dispatch.answer->headers[0].second.find("POST"), std::string::npos);
}

TEST_F(ApiTest, AnExceptionFromAHandlerIsA500JsonError) {
  Request r = make_request("GET", "/boom");
  nlohmann::json body = run(r, 500);
  EXPECT_EQ(body["error"]["code"], "internal");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("kaboom"), std::string::npos);
  Request i = make_request("GET", "/boom-int");
  EXPECT_EQ(run(i, 500)["error"]["code"], "internal");
}

TEST_F(ApiTest, KeysGuardEveryRouteButPublicOnes) {
  ASSERT_TRUE(context_.api_keys.configure({"k1", "k2"}, "").ok());
  Request none = make_request("GET", "/v1/collections/c");
  EXPECT_EQ(run(none, 401)["error"]["code"], "unauthenticated");
  Request bearer = make_request("GET", "/v1/collections/c");
  bearer.headers = {{"authorization", "Bearer k2"}};
  run(bearer, 200);
  Request wrong = make_request("GET", "/v1/collections/c");
  wrong.headers = {{"Authorization", "Bearer k3"}};
  run(wrong, 401);
  Request x_api_key = make_request("GET", "/v1/collections/c");
  x_api_key.headers = {{"X-API-Key", "k1"}};
  run(x_api_key, 200);
  Request open = make_request("GET", "/open");
  run(open, 200);
}

TEST_F(ApiTest, CorsPreflightAllowedAndRefused) {
  context_.cors_origins = {"https://app.example"};
  Request ok = make_request("OPTIONS", "/v1/collections/c/documents");
  ok.headers = {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}};
  Dispatch d = api_.route(ok);
  ASSERT_TRUE(d.answer);
  EXPECT_EQ(d.answer->status, 204);
  std::map<std::string, std::string> headers(d.answer->headers.begin(), d.answer->headers.end());
  EXPECT_EQ(headers["Access-Control-Allow-Origin"], "https://app.example");
  EXPECT_NE(headers["Access-Control-Allow-Methods"].find("POST"), std::string::npos);
  Request evil = ok;
  evil.headers = {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}};
  d = api_.route(evil);
  ASSERT_TRUE(d.answer);
  EXPECT_EQ(d.answer->status, 403);
  for (const auto& h : d.answer->headers) EXPECT_NE(h.first, "Access-Control-Allow-Origin");
}

// The transport in-process: a throwing handler on a worker answers 500 and
// the connection goes on serving.
TEST_F(ApiTest, TheTransportAnswers500WhenAHandlerThrows) {
  TransportOptions options;
  options.port = 0;
  options.workers = 2;
  HttpTransport transport(options, api_);
  ASSERT_TRUE(transport.bind().ok());
  transport.start();
  testing::RawConnection c(transport.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(testing::get_request("/boom") + testing::get_request("/open")));
  auto responses = c.read_responses(2, 20);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 500);
  EXPECT_NE(responses[0].body.find("kaboom"), std::string::npos);
  EXPECT_FALSE(responses[0].headers["x-request-id"].empty());
  EXPECT_EQ(responses[1].status, 200);
  transport.drain(std::chrono::milliseconds(1000));
  EXPECT_EQ(transport.wait().cut, 0u);
}

// ---- admission (admission.h), without engines: what a scoring route's
// handler sees of the deadline, and how refusals are answered ----

class AdmissionApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    declare_metrics(context_.metrics);
    // Reports the deadline its engine calls would get, after the body's timeout_ms.
    api_.post_scoring("/score", [](const Request& req) -> base::Result<Reply> {
      WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, base::parse_json(req.body.empty() ? "{}" : req.body, "body"));
      WINNOW_RETURN_IF_ERROR(apply_timeout_ms(body, req));
      base::CallScope* scope = base::CallScope::current();
      if (!scope) return base::internal_error("no CallScope");
      nlohmann::json out = {{"wait_for_room", scope->options().wait_for_room}};
      if (scope->options().deadline) {
        out["deadline_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(*scope->options().deadline -
                                                                                   req.arrived)
                                 .count();
      }
      if (body.contains("sleep_ms")) std::this_thread::sleep_for(std::chrono::milliseconds(body["sleep_ms"].get<int>()));
      return Reply{200, out};
    });
    api_.post("/plain", [](const Request&) -> base::Result<Reply> {
      return Reply{200, {{"scoped", base::CallScope::current() != nullptr}}};
    });
  }

  Response call(Request& request) {
    Dispatch d = api_.route(request);
    return d.answer ? *d.answer : api_.run(*d.route, request);
  }
  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  ServerContext context_;
  Api api_{context_};
};

TEST_F(AdmissionApiTest, OnlyScoringRoutesRunInACallScopeThatNeverWaitsForRoom) {
  Request plain = make_request("POST", "/plain");
  EXPECT_EQ(nlohmann::json::parse(call(plain).body)["scoped"], false);
  Request scoring = make_request("POST", "/score");
  Response r = call(scoring);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["wait_for_room"], false);
  EXPECT_FALSE(nlohmann::json::parse(r.body).contains("deadline_ms"));
  EXPECT_EQ(base::CallScope::current(), nullptr);  // gone with the handler
}

TEST_F(AdmissionApiTest, TheEarliestOfDefaultHeaderAndBodySetsTheDeadline) {
  context_.limits.request_timeout = std::chrono::milliseconds(5000);
  Request r1 = make_request("POST", "/score");
  EXPECT_EQ(nlohmann::json::parse(call(r1).body)["deadline_ms"], 5000);
  Request r2 = make_request("POST", "/score");
  r2.headers = {{"x-request-timeout", "700"}};
  EXPECT_EQ(nlohmann::json::parse(call(r2).body)["deadline_ms"], 700);
  Request r3 = make_request("POST", "/score");
  r3.headers = {{"X-Request-Timeout", "9000"}};  // longer than the server's: the server's holds
  r3.body = R"({"timeout_ms": 250})";
  EXPECT_EQ(nlohmann::json::parse(call(r3).body)["deadline_ms"], 250);
  Request bad = make_request("POST", "/score");
  bad.headers = {{"X-Request-Timeout", "-3"}};
  Response refused = call(bad);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("X-Request-Timeout"), std::string::npos) << refused.body;
}

TEST_F(AdmissionApiTest, AHandlerThatRunsPastTheDeadlineAnswers504) {
  Request r = make_request("POST", "/score");
  r.body = R"({"timeout_ms": 20, "sleep_ms": 60})";
  Response answer = call(r);
  EXPECT_EQ(answer.status, 504) << answer.body;
  EXPECT_NE(answer.body.find("deadline of 20 ms (timeout_ms)"), std::string::npos) << answer.body;
  // A request whose deadline passed while it waited for a worker is not run.
  Request late = make_request("POST", "/score");
  late.headers = {{"X-Request-Timeout", "5"}};
  late.arrived -= std::chrono::milliseconds(50);
  EXPECT_EQ(call(late).status, 504);
  Request waited = make_request("POST", "/score");
  context_.limits.max_queue_wait = std::chrono::milliseconds(10);
  waited.arrived -= std::chrono::milliseconds(50);
  Response overloaded = call(waited);
  EXPECT_EQ(overloaded.status, 429);
  EXPECT_EQ(header(overloaded, "Retry-After"), "1");
  EXPECT_NE(overloaded.body.find("--max-queue-ms"), std::string::npos) << overloaded.body;
}

TEST_F(AdmissionApiTest, ConcurrentScoringRequestsOverTheLimitAre429UntilASlotIsGivenBack) {
  context_.limits.max_concurrent_requests = 2;
  auto first = std::make_unique<Request>(make_request("POST", "/score"));
  auto second = std::make_unique<Request>(make_request("POST", "/score"));
  ASSERT_FALSE(api_.route(*first).answer);
  ASSERT_FALSE(api_.route(*second).answer);
  Request third = make_request("POST", "/score");
  Dispatch refused = api_.route(third);
  ASSERT_TRUE(refused.answer);
  EXPECT_EQ(refused.answer->status, 429);
  EXPECT_EQ(header(*refused.answer, "Retry-After"), "1");
  EXPECT_NE(refused.answer->body.find("--max-concurrent-requests"), std::string::npos);
  Request plain = make_request("POST", "/plain");  // not a scoring route: never counted
  EXPECT_FALSE(api_.route(plain).answer);
  first.reset();  // answered: its slot is free
  Request fourth = make_request("POST", "/score");
  EXPECT_FALSE(api_.route(fourth).answer);
  EXPECT_EQ(context_.scoring_in_flight.load(), 2u);
}

}  // namespace
}  // namespace winnow::server

// The dispatcher (server/api.h) without a network: routing on raw paths,
// decoding after routing, auth, CORS, and the last-resort catch; and the
// transport in-process with a handler that throws.
#include "server/api.h"

#include <gtest/gtest.h>

#include <barrier>
#include <mutex>
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
    api_.post_scoring("/score", [this](const Request& req) -> base::Result<Reply> {
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
      // As an engine call does once it tokenized the request's sequences.
      if (body.contains("tokenized")) {
        if (!scope->options().tokenized) return base::internal_error("no tokenized callback");
        scope->options().tokenized(body["tokenized"].get<std::size_t>());
      }
      out["admitted_tokens"] = context_.admitted_tokens.admitted();
      if (body.contains("sleep_ms")) std::this_thread::sleep_for(std::chrono::milliseconds(body["sleep_ms"].get<int>()));
      if (body.contains("throw")) throw std::runtime_error("handler failed");
      return Reply{200, out};
    });
    api_.post("/plain", [](const Request&) -> base::Result<Reply> {
      return Reply{200, {{"scoped", base::CallScope::current() != nullptr}}};
    });
  }

  // As the transport does: route at the head, admit once the body arrived, run.
  Response call(Request& request) {
    Dispatch d = api_.route(request);
    if (d.answer) return *d.answer;
    if (std::optional<Response> refused = api_.admit(*d.route, request)) return *refused;
    return api_.run(*d.route, request);
  }
  // A scoring request admitted (its tokens reserved) and not yet run.
  std::unique_ptr<Request> admitted(const std::string& body) {
    auto request = std::make_unique<Request>(make_request("POST", "/score"));
    request->body = body;
    Dispatch d = api_.route(*request);
    EXPECT_FALSE(d.answer);
    EXPECT_FALSE(api_.admit(*d.route, *request));
    return request;
  }
  const Route& score_route() {
    Request probe = make_request("POST", "/score");
    return *api_.route(probe).route;
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

// ---- the token reservation under --max-queued-tokens (token_budget.h) ----

std::string body_of_bytes(std::size_t bytes, const std::string& fields = "") {
  std::string body = "{" + fields + (fields.empty() ? "" : ",") + "\"pad\":\"";
  body += std::string(bytes - body.size() - 2, 'x');
  return body + "\"}";
}

TEST_F(AdmissionApiTest, TheRequestOverTheTokenBudgetIs429BeforeItsHandlerRuns) {
  context_.admitted_tokens.set_capacity(1000);
  // 1,600 bytes: about 400 tokens each; two fit, the third does not.
  auto first = admitted(body_of_bytes(1600));
  auto second = admitted(body_of_bytes(1600));
  EXPECT_EQ(context_.admitted_tokens.admitted(), 800u);
  Request third = make_request("POST", "/score");
  third.body = body_of_bytes(1600);
  Dispatch d = api_.route(third);
  ASSERT_FALSE(d.answer);
  std::optional<Response> refused = api_.admit(*d.route, third);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(header(*refused, "Retry-After"), "1");
  EXPECT_NE(refused->body.find("--max-queued-tokens"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("800 tokens of scoring work admitted, room for 1000"), std::string::npos)
      << refused->body;
  EXPECT_EQ(context_.admitted_tokens.admitted(), 800u);  // the refusal reserved nothing
  // The first runs: while its handler runs it holds its tokens, after it none.
  Response ran = api_.run(score_route(), *first);
  ASSERT_EQ(ran.status, 200) << ran.body;
  EXPECT_EQ(nlohmann::json::parse(ran.body)["admitted_tokens"], 800);
  EXPECT_EQ(context_.admitted_tokens.admitted(), 400u);
  EXPECT_FALSE(api_.admit(*d.route, third));  // now it fits
  // A request dropped unrun (a drain cut it, its worker never came) gives its tokens back too.
  second.reset();
  third.token_reservation.reset();
  EXPECT_EQ(context_.admitted_tokens.admitted(), 0u);
}

TEST_F(AdmissionApiTest, AnythingFitsWhenNothingIsAdmittedAndTheEngineCorrectsTheEstimate) {
  context_.admitted_tokens.set_capacity(100);
  // 4,000 bytes, about 1,000 tokens: over the budget, but alone, so it runs;
  // once "tokenized" it holds its real 37 tokens.
  auto big = admitted(body_of_bytes(4000, R"("tokenized": 37, "sleep_ms": 1)"));
  EXPECT_EQ(context_.admitted_tokens.admitted(), 1000u);
  Response r = api_.run(score_route(), *big);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["admitted_tokens"], 37);
  EXPECT_EQ(context_.admitted_tokens.admitted(), 0u);
}

TEST_F(AdmissionApiTest, ReservedTokensAreGivenBackOnThrowTimeoutAndDisconnect) {
  context_.admitted_tokens.set_capacity(1000);
  // A handler that throws: 500, tokens back.
  auto thrown = admitted(body_of_bytes(400, R"("throw": true)"));
  EXPECT_EQ(api_.run(score_route(), *thrown).status, 500);
  EXPECT_EQ(context_.admitted_tokens.admitted(), 0u);
  // Past its deadline: 504, tokens back.
  auto late = admitted(body_of_bytes(400, R"("timeout_ms": 5, "sleep_ms": 30)"));
  EXPECT_EQ(api_.run(score_route(), *late).status, 504);
  EXPECT_EQ(context_.admitted_tokens.admitted(), 0u);
  // Its client went away while it ran: tokens back.
  auto gone = admitted(body_of_bytes(400, R"("tokenized": 90)"));
  gone->cancelled->store(true);
  api_.run(score_route(), *gone);
  EXPECT_EQ(context_.admitted_tokens.admitted(), 0u);
  // Refused before its handler (a bad X-Request-Timeout): tokens back.
  auto bad = admitted(body_of_bytes(400));
  bad->headers = {{"X-Request-Timeout", "soon"}};
  EXPECT_EQ(api_.run(score_route(), *bad).status, 400);
  EXPECT_EQ(context_.admitted_tokens.admitted(), 0u);
}

TEST(TokenBudgetTest, OfSimultaneousArrivalsExactlyThoseThatFitGetIn) {
  // Rounds of 8 threads arriving at once with 300 tokens each under a
  // budget of 1,000: whatever the interleaving, exactly 3 get in per round
  // (a check-then-reserve race would let more in), and each gives its tokens
  // back once every thread tried.
  TokenBudget budget;
  budget.set_capacity(1000);
  constexpr int kThreads = 8, kRounds = 300;
  std::barrier sync(kThreads);
  std::vector<int> admitted_per_round(kRounds, 0);
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        sync.arrive_and_wait();
        TokenReservation reservation;
        if (budget.try_reserve(300)) {
          reservation = TokenReservation(budget, 300);
          if (t % 2 == 0) reservation.correct(250);  // corrected down: still no room for a fourth
          std::lock_guard<std::mutex> lock(mutex);
          ++admitted_per_round[round];
        }
        sync.arrive_and_wait();  // every thread tried
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int round = 0; round < kRounds; ++round) ASSERT_EQ(admitted_per_round[round], 3) << "round " << round;
  EXPECT_EQ(budget.admitted(), 0u);  // every reservation was given back
}

TEST(TokenBudgetTest, OneReservationOverTheCapacityGetsInOnlyAlone) {
  TokenBudget budget;
  budget.set_capacity(100);
  ASSERT_TRUE(budget.try_reserve(500));
  EXPECT_FALSE(budget.try_reserve(1));
  budget.exchange(500, 0);
  EXPECT_TRUE(budget.try_reserve(60));
  EXPECT_TRUE(budget.try_reserve(40));
  EXPECT_FALSE(budget.try_reserve(1));
  TokenBudget unlimited;  // capacity 0: no limit
  EXPECT_TRUE(unlimited.try_reserve(1u << 30));
  EXPECT_TRUE(unlimited.try_reserve(1u << 30));
}

}  // namespace
}  // namespace winnow::server

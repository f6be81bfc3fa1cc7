// GET /openapi.json on the real binary: the file the build embedded, the
// security schemes named only when the server has keys, and the answer
// validator (tests/clients/validate_answers.mjs) strict enough to refuse
// wrong answers: the check of every recorded answer (tests/openapi/) is only
// as good as this.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/e2e_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

std::filesystem::path clients_dir() { return test_data().parent_path() / "clients"; }
std::filesystem::path document_file() { return test_data().parent_path().parent_path() / "src" / "server" / "openapi.json"; }

TEST(OpenApiTest, ServesTheDocumentWithTheSchemesOnlyWhenKeysAreSet) {
  const nlohmann::json file = nlohmann::json::parse(std::ifstream(document_file()));
  const auto dir = fresh_dir("openapi_keys");
  {
    ServerProcess server(dir / "open");
    auto c = server.client();
    HttpResult r = http_get(*c, "/openapi.json");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["openapi"], "3.1.0");
    EXPECT_EQ(r.body["paths"], [&] {
      nlohmann::json paths = file["paths"];
      for (auto& [p, item] : paths.items()) {
        for (auto& [m, op] : item.items()) {
          if (op.is_object()) op.erase("security");
        }
      }
      return paths;
    }());
    EXPECT_FALSE(r.body.contains("security"));
    EXPECT_FALSE(r.body["components"].contains("securitySchemes"));
    EXPECT_EQ(r.body["components"]["schemas"], file["components"]["schemas"]);
  }
  {
    ServerProcess server(dir / "keyed", {"--api-key", "sesame"});
    auto c = server.client();
    HttpResult r = http_get(*c, "/openapi.json");  // public: a client learns the schemes before it has a key
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body, file);
    EXPECT_EQ(r.body["components"]["securitySchemes"]["bearerKey"]["scheme"], "bearer");
    EXPECT_EQ(r.body["components"]["securitySchemes"]["headerKey"]["name"], "X-API-Key");
    EXPECT_EQ(r.body["paths"]["/health"]["get"]["security"], nlohmann::json::array());
    EXPECT_EQ(http_get(*c, "/v1/collections").status, 401);
  }
  std::filesystem::remove_all(dir);
}

TEST(OpenApiTest, TheDocsPageNeedsNoNetwork) {
  const auto dir = fresh_dir("openapi_docs");
  {
    ServerProcess server(dir / "data", {"--api-key", "sesame"});
    auto c = server.client();
    auto r = c->Get("/docs");  // public, like the document it renders
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(r->body.find("fetch('openapi.json')"), std::string::npos);
    // Nothing loaded from elsewhere: no absolute URL, no protocol-relative one.
    for (const char* remote : {"http://", "https://", "src=\"//", "href=\"//"}) {
      EXPECT_EQ(r->body.find(remote), std::string::npos) << remote;
    }
  }
  std::filesystem::remove_all(dir);
}

// One answer a line, as support/answer_log.h records them.
nlohmann::json answer(const std::string& method, const std::string& target, int status, const nlohmann::json& body,
                      const std::string& content_type = "application/json") {
  return {{"test", "OpenApiTest.synthetic"}, {"method", method}, {"target", target}, {"status", status},
          {"content_type", content_type}, {"body", body.is_string() ? body.get<std::string>() : body.dump()}};
}

ProcessResult validate(const std::filesystem::path& dir, const std::vector<nlohmann::json>& answers) {
  std::filesystem::remove_all(dir / "answers");
  std::filesystem::create_directories(dir / "answers");
  std::ofstream out(dir / "answers" / "answers-1.jsonl");
  for (const nlohmann::json& a : answers) out << a.dump() << "\n";
  out.close();
  return run_process({"node", (clients_dir() / "validate_answers.mjs").string(), "--document",
                      document_file().string(), "--answers", (dir / "answers").string()});
}

TEST(OpenApiTest, TheValidatorRefusesWrongAnswers) {
  ASSERT_TRUE(std::filesystem::is_directory(clients_dir() / "node_modules" / "ajv"))
      << "run scripts/setup (it runs npm ci in tests/clients)";
  const auto dir = fresh_dir("openapi_validator");
  const nlohmann::json good_rerank = {
      {"id", "a"}, {"object", "rerank"}, {"model", "m"},
      {"results", {{{"index", 0}, {"relevance_score", 0.9}}}},
      {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 0}, {"total_tokens", 3}}},
      {"meta", {{"api_version", {{"version", "2"}}}, {"billed_units", {{"search_units", 1}}}, {"tokens", 3}}}};
  const nlohmann::json good_error = {{"error", {{"code", "not_found"}, {"message", "no such collection: x"}}},
                                     {"message", "no such collection: x"}};
  // Right answers pass, so that a failure below is the wrong answer's.
  ProcessResult ok = validate(dir, {answer("POST", "/v2/rerank", 200, good_rerank),
                                    answer("GET", "/v1/collections/x", 404, good_error),
                                    answer("GET", "/no/such/route", 404, good_error),
                                    answer("POST", "/rerank", 200, nlohmann::json::array({{{"index", 0}, {"score", 0.5}}})),
                                    answer("GET", "/metrics", 200, "# HELP x y\n", "text/plain; version=0.0.4")});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("every answer matches"), std::string::npos) << ok.out;

  struct Wrong {
    const char* what;
    nlohmann::json answer;
    const char* expected;  // in the validator's report
  };
  nlohmann::json extra_field = good_rerank;
  extra_field["results"][0]["rank"] = 1;
  nlohmann::json missing_usage = good_rerank;
  missing_usage.erase("usage");
  nlohmann::json wrong_type = good_rerank;
  wrong_type["results"][0]["relevance_score"] = "high";
  nlohmann::json unknown_meta = good_rerank;
  unknown_meta["meta"]["cache_hits"] = 2;
  const std::vector<Wrong> wrongs = {
      {"a result with a field the document does not have", answer("POST", "/v2/rerank", 200, extra_field),
       "must NOT have additional properties"},
      {"no top-level usage", answer("POST", "/v1/rerank", 200, missing_usage), "must have required property 'usage'"},
      {"a score as a string", answer("POST", "/v2/rerank", 200, wrong_type), "must be number"},
      {"a meta field the document does not have", answer("POST", "/v2/rerank", 200, unknown_meta),
       "must NOT have additional properties"},
      {"an error without top-level message",
       answer("GET", "/v1/collections/x", 404, {{"error", {{"code", "not_found"}, {"message", "m"}}}}),
       "must have required property 'message'"},
      {"an error code the server has not", answer("GET", "/v1/collections/x", 404,
                                                   {{"error", {{"code", "gone"}, {"message", "m"}}}, {"message", "m"}}),
       "must be equal to one of the allowed values"},
      {"a status the route does not document", answer("GET", "/health", 409, good_error), "status 409 is not documented"},
      {"a content type the route does not document", answer("GET", "/metrics", 200, "x", "text/html"),
       "content type \"text/html\" is not documented"},
      {"a body that is not JSON", answer("GET", "/v1/collections", 200, "{\"collections\": ["), "body is not JSON"},
      {"an unknown path that is not a 404", answer("GET", "/nowhere", 200, nlohmann::json::object()), "not 404"},
      {"TEI's answer in Cohere's shape", answer("POST", "/rerank", 200, good_rerank), "must be array"},
      {"a document page without next_after",
       answer("GET", "/v1/collections/x/documents", 200, {{"documents", nlohmann::json::array()}}),
       "must have required property 'next_after'"},
  };
  for (const Wrong& wrong : wrongs) {
    ProcessResult run = validate(dir, {answer("POST", "/v2/rerank", 200, good_rerank), wrong.answer});
    EXPECT_EQ(run.exit_code, 1) << wrong.what << ": " << run.out << run.err;
    EXPECT_NE(run.out.find(wrong.expected), std::string::npos) << wrong.what << ": " << run.out << run.err;
    EXPECT_NE(run.out.find("1 of 2 answers do not match"), std::string::npos) << wrong.what << ": " << run.out;
  }
  // Nothing recorded is a failure, not a pass.
  ProcessResult none = validate(dir, {});
  EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
  EXPECT_NE(none.err.find("no answers recorded"), std::string::npos) << none.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing

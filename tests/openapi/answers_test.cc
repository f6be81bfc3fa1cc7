// The last end-to-end test: every answer the other end-to-end tests (and the
// real client libraries) received from the real server, recorded in
// $WINNOW_ANSWER_LOG_DIR (support/answer_log.h), must match the OpenAPI
// document that server serves at /openapi.json, checked by Ajv
// (tests/clients/validate_answers.mjs). ctest runs it after them (a fixture
// cleanup); it fails when nothing was recorded.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/server_process.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

TEST(OpenApiAnswers, EveryRecordedAnswerMatchesTheServedDocument) {
  const char* answers = std::getenv("WINNOW_ANSWER_LOG_DIR");
  ASSERT_TRUE(answers != nullptr && *answers != '\0') << "WINNOW_ANSWER_LOG_DIR is not set (tests/CMakeLists.txt sets it)";
  const std::filesystem::path clients = std::filesystem::path(WINNOW_TEST_DATA).parent_path() / "clients";
  ASSERT_TRUE(std::filesystem::is_directory(clients / "node_modules" / "ajv"))
      << clients / "node_modules" << " is missing: run scripts/setup (it runs npm ci in tests/clients)";

  const auto dir = std::filesystem::temp_directory_path() / ("winnow_openapi_answers_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    ServerProcess server(dir / "data");
    auto client = server.client();
    HttpResult document = http_get(*client, "/openapi.json");  // recorded and checked like every answer
    ASSERT_EQ(document.status, 200) << document.raw;
    std::ofstream(dir / "openapi.json") << document.raw;
  }
  ProcessResult run = run_process({"node", (clients / "validate_answers.mjs").string(), "--document",
                                   (dir / "openapi.json").string(), "--answers", answers});
  std::cout << run.out << run.err;
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing

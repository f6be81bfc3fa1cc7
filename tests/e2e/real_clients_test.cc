// The real client libraries users point at a reranker (Cohere's SDK 7.x and
// 8.x, LangChain's and LlamaIndex's Cohere rerankers, the Vercel AI SDK's
// Cohere and Together providers) against the real server, each changing only
// its base URL, must return the engine's own indices and scores
// (tests/clients/run_clients.mjs). They are installed by scripts/setup (npm
// ci in tests/clients); without them this test fails: it is part of the
// contract, not an optional extra.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/e2e_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

TEST(RealClientsTest, EveryClientRanksAsTheEngine) {
  const std::filesystem::path clients = test_data().parent_path() / "clients";
  ASSERT_TRUE(std::filesystem::is_directory(clients / "node_modules" / "cohere-ai"))
      << clients / "node_modules" << " is missing: run scripts/setup (it runs npm ci in tests/clients)";
  ProcessResult node = run_process({"node", "--version"});
  ASSERT_EQ(node.exit_code, 0) << "node is not installed: run scripts/setup (Debian's nodejs and npm)";

  const auto dir = fresh_dir("real_clients");
  // Cohere's model names as aliases of the fixture model: the clients send them.
  std::ofstream(dir / "models.json")
      << nlohmann::json{{"models",
                         {{{"name", "fixture-ce"},
                           {"source", model_path("bert-ce-tiny")},
                           {"aliases", {"rerank-v3.5", "rerank-english-v3.0", "rerank-english-v2.0"}}}}}}
             .dump();
  {
    ServerProcess server(dir, {"--models", (dir / "models.json").string()});
    for (const char* model : {"rerank-v3.5", "fixture-ce"}) {
      ProcessResult run = run_process({"node", (clients / "run_clients.mjs").string(), server.url(), model});
      EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
      EXPECT_NE(run.out.find("8 of 8 clients rank as the engine"), std::string::npos) << run.out << run.err;
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing

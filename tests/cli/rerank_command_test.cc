// `winnow rerank` end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "cli/cli_test_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

// All golden records of one query at max_length 512, longest_first.
std::vector<nlohmann::json> golden_for_one_query(const std::string& model, std::string* query) {
  auto records = read_jsonl_file(test_data() / "golden" / (model + ".jsonl"));
  std::map<std::string, std::vector<nlohmann::json>> by_query;
  for (auto& r : records) {
    if (r["max_length"] == 512 && r["truncation"] == "longest_first") {
      by_query[r["query"].get<std::string>()].push_back(r);
    }
  }
  auto best = std::max_element(by_query.begin(), by_query.end(),
                               [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
  *query = best->first;
  return best->second;
}

TEST(RerankCommandTest, RanksLikeTheReferenceLogits) {
  for (const std::string model : {"bert-ce-tiny", "xlmr-ce-tiny"}) {
    std::string query;
    auto records = golden_for_one_query(model, &query);
    ASSERT_GE(records.size(), 3u);
    std::string input;
    for (const auto& r : records) input += nlohmann::json{{"id", r["id"]}, {"text", r["document"]}}.dump() + "\n";
    ProcessResult result = run_process({winnow_binary(), "rerank", "--model", model_dir(model).string(), "--query",
                                        query, "-", "--top-n", "3", "--raw-scores"},
                                       input);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    auto lines = parse_jsonl(result.out);  // piped: JSON Lines
    ASSERT_EQ(lines.size(), 3u);
    std::stable_sort(records.begin(), records.end(),
                     [](const nlohmann::json& a, const nlohmann::json& b) { return a["logit"].get<double>() > b["logit"].get<double>(); });
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(lines[k]["rank"], k + 1);
      EXPECT_EQ(lines[k]["id"], records[k]["id"]) << model << " rank " << k + 1;
      EXPECT_NEAR(lines[k]["score"].get<double>(), records[k]["logit"].get<double>(), 1e-4);
      EXPECT_EQ(lines[k]["text"], records[k]["document"]);
    }
  }
}

// --chunk scores a long document in windows and reports its best one;
// --truncation-direction left keeps its end; the window flags need --chunk.
TEST(RerankCommandTest, ChunkAndTruncationDirection) {
  std::string filler;
  for (int i = 0; i < 600; ++i) filler += "the ";
  const std::string input = nlohmann::json(filler + "cat sat").dump() + "\n" + nlohmann::json("cat sat").dump() + "\n";
  const std::string model = model_dir("bert-ce-tiny").string();
  ProcessResult plain = run_process({winnow_binary(), "rerank", "-m", model, "-q", "cat", "-", "--raw-scores"}, input);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.err.find("1 of 2 documents were cut"), std::string::npos) << plain.err;
  ProcessResult chunked = run_process({winnow_binary(), "rerank", "-m", model, "-q", "cat", "-", "--raw-scores",
                                       "--chunk", "--chunk-tokens", "100", "--chunk-overlap", "10"},
                                      input);
  ASSERT_EQ(chunked.exit_code, 0) << chunked.err;
  EXPECT_EQ(chunked.err.find("were cut"), std::string::npos) << chunked.err;
  auto lines = parse_jsonl(chunked.out);
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    ASSERT_TRUE(line.contains("chunk")) << line;
    if (line["index"] == 0) {
      EXPECT_GT(line["chunk"]["chunks"].get<int>(), 5);
      EXPECT_EQ(line["chunk"]["end"], filler.size() + 7) << "the best window is the end, with \"cat sat\"";
    }
  }
  ProcessResult left = run_process({winnow_binary(), "rerank", "-m", model, "-q", "cat", "-", "--raw-scores",
                                    "--truncation-direction", "left", "--max-tokens-per-doc", "2"},
                                   input);
  ASSERT_EQ(left.exit_code, 0) << left.err;
  auto left_lines = parse_jsonl(left.out);
  ASSERT_EQ(left_lines.size(), 2u);
  EXPECT_DOUBLE_EQ(left_lines[0]["score"].get<double>(), left_lines[1]["score"].get<double>())
      << "both documents end in \"cat sat\", all that is kept";
  ProcessResult needs = run_process({winnow_binary(), "rerank", "-m", model, "-q", "cat", "-", "--chunk-tokens", "10"},
                                    input);
  EXPECT_NE(needs.exit_code, 0);
  EXPECT_NE(needs.err.find("--chunk"), std::string::npos) << needs.err;
}

TEST(RerankCommandTest, ReadsAFileOfStringsAndPlainLines) {
  auto dir = fresh_temp_dir("rerank_inputs");
  {
    std::ofstream(dir / "docs.jsonl") << "\"bm25 is a ranking function\"\n\n{\"id\": 7, \"text\": \"cats\"}\n";
    std::ofstream(dir / "docs.txt") << "bm25 is a ranking function\r\n\r\ncats\n";
  }
  ProcessResult a = run_process({winnow_binary(), "rerank", "-m", model_dir("bert-ce-tiny").string(), "-q",
                                 "ranking functions", (dir / "docs.jsonl").string(), "--json"});
  ProcessResult b = run_process({winnow_binary(), "rerank", "-m", model_dir("bert-ce-tiny").string(), "-q",
                                 "ranking functions", "--format", "lines", (dir / "docs.txt").string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto la = parse_jsonl(a.out), lb = parse_jsonl(b.out);
  ASSERT_EQ(la.size(), 2u);
  ASSERT_EQ(lb.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(la[k]["text"], lb[k]["text"]);
    EXPECT_DOUBLE_EQ(la[k]["score"].get<double>(), lb[k]["score"].get<double>());
  }
  auto cats = la[0]["text"] == "cats" ? la[0] : la[1];
  EXPECT_EQ(cats["id"], "7");
  std::filesystem::remove_all(dir);
}

TEST(RerankCommandTest, BadDocumentsAreRejectedWithTheLineNumber) {
  auto run = [](const std::string& input, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {winnow_binary(), "rerank", "-m", model_dir("bert-ce-tiny").string(), "-q", "x"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, input);
  };
  ProcessResult r = run("\"ok\"\n17\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("standard input line 2: expected a JSON string or an object"), std::string::npos) << r.err;

  r = run("\"ok\"\n{\"id\": \"a\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2: the object needs a string \"text\""), std::string::npos) << r.err;

  r = run("fine\nbad \xff\xfe bytes\n", {"--format", "lines"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("standard input line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;

  r = run("\"ok\"\n{broken\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2: invalid JSON"), std::string::npos) << r.err;

  r = run_process({winnow_binary(), "rerank", "-m", model_dir("bert-ce-tiny").string(), "-q", "x", "/no/such.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/no/such.jsonl"), std::string::npos) << r.err;
}

TEST(RerankCommandTest, FindsARepoIdInTheHuggingFaceCache) {
  auto cache = fresh_temp_dir("hf_cache");
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  auto repo = cache / "models--test-org--tiny-reranker";
  std::filesystem::create_directories(repo / "refs");
  std::filesystem::create_directories(repo / "snapshots");
  std::ofstream(repo / "refs" / "main") << commit;
  std::filesystem::copy(model_dir("bert-ce-tiny"), repo / "snapshots" / commit);
  ProcessResult r = run_process(
      {winnow_binary(), "rerank", "-m", "test-org/tiny-reranker", "-q", "q", "--json"}, "\"a doc\"\n",
      {{"HF_HUB_CACHE", cache.string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_jsonl(r.out).size(), 1u);

  r = run_process({winnow_binary(), "rerank", "-m", "test-org/absent", "-q", "q"}, "\"a doc\"\n",
                  {{"HF_HUB_CACHE", cache.string()}, {"HF_HUB_OFFLINE", "1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("test-org/absent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offline"), std::string::npos) << r.err;
  // Not in the cache and online: the download is tried (here against a closed port) and its failure named.
  r = run_process({winnow_binary(), "rerank", "-m", "test-org/absent", "-q", "q"}, "\"a doc\"\n",
                  {{"HF_HUB_CACHE", cache.string()}, {"HF_ENDPOINT", "http://127.0.0.1:9"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach http://127.0.0.1:9"), std::string::npos) << r.err;

  r = run_process({winnow_binary(), "models", "--json"}, "", {{"HF_HUB_CACHE", cache.string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto listed = parse_jsonl(r.out);
  auto cached = std::find_if(listed.begin(), listed.end(),
                             [](const nlohmann::json& m) { return m["name"] == "test-org/tiny-reranker"; });
  ASSERT_NE(cached, listed.end()) << r.out;
  EXPECT_EQ((*cached)["architecture"], "BertForSequenceClassification");
  auto builtin = std::find_if(listed.begin(), listed.end(),
                              [](const nlohmann::json& m) { return m["name"] == "bge-reranker-v2-m3"; });
  ASSERT_NE(builtin, listed.end()) << "built-in names are listed";
  EXPECT_EQ((*builtin)["on_disk"], false);
  std::filesystem::remove_all(cache);
}

TEST(ModelsCommandTest, ShowsTheDeclaredActivation) {
  auto dir = fresh_temp_dir("declared_activation");
  std::filesystem::copy(model_dir("bert-ce-tiny"), dir, std::filesystem::copy_options::recursive |
                                                            std::filesystem::copy_options::overwrite_existing);
  auto config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  config["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity";
  std::ofstream(dir / "config.json") << config.dump(2);
  ProcessResult r = run_process({winnow_binary(), "models", dir.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["declared_activation"], "torch.nn.modules.linear.Identity");
  EXPECT_EQ(lines[0]["architecture"], "BertForSequenceClassification");
  EXPECT_EQ(lines[0]["max_tokens"], 512);
  r = run_process({winnow_binary(), "models", dir.string()});
  EXPECT_NE(r.out.find("torch.nn.modules.linear.Identity"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing

#include "hub/hub_download.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "support/fake_hub.h"
#include "hub/hub_cache.h"
#include "net/http_client.h"

namespace winnow::hub {
namespace {

namespace fs = std::filesystem;
using test_support::FakeHub;
using test_support::FakeRepo;
using test_support::sha256_file_hex;

constexpr const char* kRepo = "winnow-test/bert-embed-tiny";
constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class HubDownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    cache_ = fs::temp_directory_path() /
             ("winnow_hub_download_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(cache_);
    fixture_ = test_support::fixture_repo(kRepo, fs::path(WINNOW_TEST_DATA) / "models" / "bert-embed-tiny", kCommit);
    hub_.add_repo(fixture_);
  }
  void TearDown() override { fs::remove_all(cache_); }

  PullOptions options() const {
    PullOptions o;
    o.cache_dir = cache_;
    o.endpoint = hub_.endpoint();
    o.token = "";
    o.retry.base_delay = std::chrono::milliseconds(10);
    o.retry.max_delay = std::chrono::milliseconds(50);
    return o;
  }

  fs::path repo_dir() const { return cache_ / "models--winnow-test--bert-embed-tiny"; }
  fs::path snapshot() const { return repo_dir() / "snapshots" / kCommit; }
  const std::string& weights() const { return fixture_.files.at("model.safetensors").content; }
  std::string weights_sha() const { return test_support::sha256_hex(weights()); }

  // The files Winnow takes from the fixture repo.
  static std::vector<std::string> wanted() {
    return {"1_Pooling/config.json", "config.json",       "model.safetensors",       "modules.json",
            "sentence_bert_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"};
  }

  FakeHub hub_;
  FakeRepo fixture_;
  fs::path cache_;
};

TEST_F(HubDownloadTest, FreshPullWritesTheHuggingFaceCacheLayout) {
  auto pulled = pull(kRepo, "main", options());
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  EXPECT_EQ(pulled->commit, kCommit);
  EXPECT_EQ(pulled->snapshot_dir, snapshot());
  EXPECT_EQ(pulled->files, wanted());

  std::uint64_t total = 0;
  for (const std::string& file : wanted()) {
    const fs::path link = snapshot() / file;
    ASSERT_TRUE(fs::is_symlink(link)) << file;
    const std::string& content = fixture_.files.at(file).content;
    total += content.size();
    // Relative links into blobs/, one "../" more per folder, named by sha256 (LFS) or git sha1.
    const std::string up = file.find('/') != std::string::npos ? "../../../" : "../../";
    const std::string etag = fixture_.files.at(file).lfs ? test_support::sha256_hex(content) : test_support::git_blob_sha1(content);
    EXPECT_EQ(fs::read_symlink(link).string(), up + "blobs/" + etag) << file;
    EXPECT_EQ(test_support::read_whole_file(link), content) << file;
    EXPECT_TRUE(fs::is_regular_file(repo_dir() / "blobs" / etag)) << file;
  }
  EXPECT_EQ(pulled->bytes_downloaded, total);
  EXPECT_EQ(test_support::read_whole_file(repo_dir() / "refs" / "main"), kCommit);
  for (const auto& entry : fs::directory_iterator(repo_dir() / "blobs")) {
    EXPECT_FALSE(entry.path().string().ends_with(".incomplete")) << entry.path();
  }
  EXPECT_TRUE(fs::exists(cache_ / ".locks" / "models--winnow-test--bert-embed-tiny" / (weights_sha() + ".lock")));

  auto found = find_cached_snapshot(cache_, kRepo);
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ(*found, snapshot());
  EXPECT_TRUE(check_snapshot_complete(snapshot()).ok());

  // Only what the engine reads was asked for; the large file came from the CDN.
  EXPECT_EQ(hub_.count("", "", "pytorch_model.bin"), 0u);
  EXPECT_EQ(hub_.count("", "", "onnx"), 0u);
  EXPECT_EQ(hub_.count("", "", "README.md"), 0u);
  EXPECT_EQ(hub_.count("cdn", "GET", weights_sha()), 1u);
  EXPECT_EQ(hub_.count("hub", "HEAD", "/resolve/"), wanted().size());
}

TEST_F(HubDownloadTest, SecondPullDownloadsNothing) {
  ASSERT_TRUE(pull(kRepo, "main", options()).ok());
  const std::size_t requests = hub_.requests().size();
  auto again = pull(kRepo, "main", options());
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->bytes_downloaded, 0u);
  EXPECT_EQ(again->snapshot_dir, snapshot());
  // One question (which commit is main?), no HEAD, no GET of a file.
  EXPECT_EQ(hub_.requests().size(), requests + 1);
  EXPECT_EQ(hub_.requests().back().path, std::string("/api/models/") + kRepo + "/revision/main");
}

TEST_F(HubDownloadTest, ALaterPullResumesACutDownloadWithRange) {
  hub_.cut_next_cdn_gets = 1;
  PullOptions no_retries = options();
  no_retries.retry.max_retries = 0;
  auto first = pull(kRepo, "main", no_retries);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), base::StatusCode::kUnavailable) << first.status().to_string();
  EXPECT_TRUE(contains(first.status().message(), "model.safetensors")) << first.status().message();

  const fs::path blob = repo_dir() / "blobs" / weights_sha();
  const fs::path incomplete = blob.string() + ".incomplete";
  const std::uint64_t half = weights().size() / 2;
  ASSERT_TRUE(fs::exists(incomplete));
  EXPECT_EQ(fs::file_size(incomplete), half);
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(snapshot() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / "main"));  // main never points at an unfinished snapshot

  auto second = pull(kRepo, "main", no_retries);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->bytes_downloaded, weights().size() - half);  // only the missing half crossed the wire
  const auto requests = hub_.requests();
  ASSERT_EQ(requests.back().server, "cdn");
  EXPECT_EQ(requests.back().range, "bytes=" + std::to_string(half) + "-");
  EXPECT_EQ(requests.back().status, 206);
  EXPECT_EQ(sha256_file_hex(blob.string()), weights_sha());
  EXPECT_FALSE(fs::exists(incomplete));
}

TEST_F(HubDownloadTest, RetriesWithinOnePullResumeTheCutDownload) {
  hub_.cut_next_cdn_gets = 1;
  auto pulled = pull(kRepo, "main", options());
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  EXPECT_EQ(hub_.count("cdn", "GET", weights_sha()), 2u);
  EXPECT_EQ(hub_.requests().back().range, "bytes=" + std::to_string(weights().size() / 2) + "-");
  EXPECT_EQ(sha256_file_hex((snapshot() / "model.safetensors").string()), weights_sha());
}

TEST_F(HubDownloadTest, StartsOverWhenTheServerIgnoresRange) {
  hub_.cut_next_cdn_gets = 1;
  hub_.ignore_range = true;
  auto pulled = pull(kRepo, "main", options());
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  const auto last = hub_.requests().back();
  EXPECT_FALSE(last.range.empty());  // asked for the rest...
  EXPECT_EQ(last.status, 200);       // ...got the whole file, and wrote it from the start
  EXPECT_EQ(sha256_file_hex((snapshot() / "model.safetensors").string()), weights_sha());
}

TEST_F(HubDownloadTest, CorruptedBytesAreAHashMismatchAndLeaveNothingValid) {
  hub_.corrupt_lfs = true;
  auto pulled = pull(kRepo, "main", options());
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), base::StatusCode::kDataLoss);
  const std::string& message = pulled.status().message();
  EXPECT_TRUE(contains(message, "model.safetensors")) << message;
  EXPECT_TRUE(contains(message, "sha256 mismatch")) << message;
  EXPECT_TRUE(contains(message, "expected " + weights_sha())) << message;
  EXPECT_TRUE(contains(message, "got ")) << message;

  const fs::path blob = repo_dir() / "blobs" / weights_sha();
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(blob.string() + ".incomplete"));
  EXPECT_FALSE(fs::exists(snapshot() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / "main"));
  EXPECT_FALSE(find_cached_snapshot(cache_, kRepo).ok());
  EXPECT_FALSE(check_snapshot_complete(snapshot()).ok());

  // Once the server is fixed, the same cache heals.
  hub_.corrupt_lfs = false;
  ASSERT_TRUE(pull(kRepo, "main", options()).ok());
  EXPECT_EQ(sha256_file_hex(blob.string()), weights_sha());
}

TEST_F(HubDownloadTest, OfflineWithoutTheModelNamesItAndOfflineMode) {
  PullOptions offline = options();
  offline.offline = true;
  auto pulled = pull(kRepo, "main", offline);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), base::StatusCode::kNotFound);
  EXPECT_TRUE(contains(pulled.status().message(), kRepo)) << pulled.status().message();
  EXPECT_TRUE(contains(pulled.status().message(), "offline mode is on")) << pulled.status().message();
  EXPECT_TRUE(hub_.requests().empty());

  ScopedEnv env("HF_HUB_OFFLINE", "1");
  auto from_env = pull(kRepo, "main", options());
  ASSERT_FALSE(from_env.ok());
  EXPECT_TRUE(contains(from_env.status().message(), "HF_HUB_OFFLINE")) << from_env.status().message();
  EXPECT_TRUE(hub_.requests().empty());
}

TEST_F(HubDownloadTest, OfflineWithACompleteCacheNeedsNoNetwork) {
  ASSERT_TRUE(pull(kRepo, "main", options()).ok());
  const std::size_t requests = hub_.requests().size();

  PullOptions offline = options();
  offline.offline = true;
  offline.endpoint = "http://127.0.0.1:" + std::to_string(test_support::closed_port());
  auto pulled = pull(kRepo, "main", offline);
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  EXPECT_EQ(pulled->snapshot_dir, snapshot());
  EXPECT_EQ(pulled->commit, kCommit);
  EXPECT_EQ(pulled->files, wanted());

  ScopedEnv env("HF_HUB_OFFLINE", "1");
  EXPECT_TRUE(pull(kRepo, "main", options()).ok());
  EXPECT_TRUE(find_or_pull(kRepo, "main", options()).ok());
  EXPECT_EQ(hub_.requests().size(), requests);

  // A snapshot that lost its weights is not "complete": offline says so.
  fs::remove(repo_dir() / "blobs" / weights_sha());
  auto broken = pull(kRepo, "main", options());
  ASSERT_FALSE(broken.ok());
  EXPECT_TRUE(contains(broken.status().message(), "model.safetensors")) << broken.status().message();
}

TEST_F(HubDownloadTest, GatedModelNeedsHfTokenWhichNeverReachesTheCdn) {
  FakeRepo gated = fixture_;
  gated.repo_id = "winnow-test/gated";
  gated.required_token = "hf_secret";
  hub_.add_repo(gated);

  auto refused = pull("winnow-test/gated", "main", options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kUnauthenticated);
  EXPECT_TRUE(contains(refused.status().message(), "HF_TOKEN")) << refused.status().message();
  EXPECT_TRUE(contains(refused.status().message(), "winnow-test/gated")) << refused.status().message();
  EXPECT_TRUE(contains(refused.status().message(), "gated or private")) << refused.status().message();

  PullOptions with_token = options();
  with_token.token = "hf_secret";
  auto pulled = pull("winnow-test/gated", "main", with_token);
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  for (const auto& r : hub_.requests()) {
    if (r.server == "hub" && r.status < 400) {
      EXPECT_EQ(r.authorization, "Bearer hf_secret") << r.path;
    }
    if (r.server == "cdn") {
      EXPECT_EQ(r.authorization, "") << "token leaked to the CDN: " << r.path;
    }
  }
  EXPECT_EQ(hub_.count("cdn", "GET", ""), 1u);
}

TEST_F(HubDownloadTest, TokenComesFromHfTokenOrTheTokenFile) {
  FakeRepo gated = fixture_;
  gated.repo_id = "winnow-test/gated";
  gated.required_token = "hf_from_env";
  hub_.add_repo(gated);
  PullOptions from_env = options();
  from_env.token.reset();
  {
    ScopedEnv token("HF_TOKEN", "hf_from_env");
    auto pulled = pull("winnow-test/gated", "main", from_env);
    ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  }
  const fs::path home = cache_ / "hf_home";
  fs::create_directories(home);
  std::ofstream(home / "token") << "hf_from_file\n";
  ScopedEnv no_token("HF_TOKEN", nullptr);
  ScopedEnv no_legacy("HUGGING_FACE_HUB_TOKEN", nullptr);
  ScopedEnv no_path("HF_TOKEN_PATH", nullptr);
  ScopedEnv hf_home("HF_HOME", home.c_str());
  EXPECT_EQ(hub_token().value_or(""), "hf_from_file");
}

TEST_F(HubDownloadTest, HfEndpointIsHonoured) {
  ScopedEnv endpoint("HF_ENDPOINT", (hub_.endpoint() + "/").c_str());
  EXPECT_EQ(hub_endpoint(), hub_.endpoint());
  PullOptions from_env = options();
  from_env.endpoint.reset();
  auto pulled = pull(kRepo, "main", from_env);
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  EXPECT_FALSE(hub_.requests().empty());
}

TEST_F(HubDownloadTest, ConcurrentPullsOfOneModelShareOneDownload) {
  hub_.cdn_chunk_delay_ms = 2;  // the weights take ~0.3 s: the pulls overlap
  base::Status first, second;
  std::thread a([&] { first = pull(kRepo, "main", options()).status(); });
  std::thread b([&] { second = pull(kRepo, "main", options()).status(); });
  a.join();
  b.join();
  EXPECT_TRUE(first.ok()) << first.to_string();
  EXPECT_TRUE(second.ok()) << second.to_string();
  // The lock made the second wait for the first's blob instead of fetching it again.
  EXPECT_EQ(hub_.count("cdn", "GET", weights_sha()), 1u);
  EXPECT_EQ(sha256_file_hex((snapshot() / "model.safetensors").string()), weights_sha());
  for (const auto& entry : fs::directory_iterator(repo_dir() / "blobs")) {
    EXPECT_FALSE(entry.path().string().ends_with(".incomplete")) << entry.path();
  }
  EXPECT_TRUE(check_snapshot_complete(snapshot()).ok());
}

TEST_F(HubDownloadTest, ConcurrentPullsInTwoProcessesLeaveOneIntactBlob) {
  hub_.cdn_chunk_delay_ms = 2;
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child only pulls; _exit skips the parent's destructors and test harness.
      const bool ok = pull(kRepo, "main", options()).ok();
      ::_exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid << " status " << status;
  }
  EXPECT_EQ(hub_.count("cdn", "GET", weights_sha()), 1u);  // the flock works across processes too
  EXPECT_EQ(sha256_file_hex((snapshot() / "model.safetensors").string()), weights_sha());
  EXPECT_TRUE(check_snapshot_complete(snapshot()).ok());
  EXPECT_EQ(test_support::read_whole_file(repo_dir() / "refs" / "main"), kCommit);
}

TEST_F(HubDownloadTest, TransientHubErrorsAreRetried) {
  hub_.fail_next_api_calls = 2;
  auto pulled = pull(kRepo, "main", options());
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  EXPECT_EQ(hub_.count("hub", "GET", "/api/models/"), 3u);

  hub_.fail_next_api_calls = 100;
  PullOptions o = options();
  o.retry.max_retries = 2;
  auto failed = pull(kRepo, "main", o);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), base::StatusCode::kUnavailable);
  EXPECT_TRUE(contains(failed.status().message(), "answered 503")) << failed.status().message();
  EXPECT_TRUE(contains(failed.status().message(), "after 3 tries")) << failed.status().message();
}

TEST_F(HubDownloadTest, RepoWithoutSafetensorsIsAClearError) {
  FakeRepo torch_only = fixture_;
  torch_only.repo_id = "winnow-test/torch-only";
  torch_only.files.erase("model.safetensors");
  hub_.add_repo(torch_only);
  auto pulled = pull("winnow-test/torch-only", "main", options());
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(pulled.status().message(),
                       "winnow-test/torch-only has no model.safetensors; Winnow reads safetensors only"))
      << pulled.status().message();
  EXPECT_EQ(hub_.count("", "", "/resolve/"), 0u);
}

TEST_F(HubDownloadTest, ShardedWeightsBringTheIndexAndEveryShard) {
  FakeRepo sharded = fixture_;
  sharded.repo_id = "winnow-test/sharded";
  sharded.files.erase("model.safetensors");
  sharded.files["model-00001-of-00002.safetensors"] = {std::string(300'000, 'a'), true};
  sharded.files["model-00002-of-00002.safetensors"] = {std::string(200'000, 'b'), true};
  sharded.files["model.safetensors.index.json"] = {
      R"({"metadata": {"total_size": 500000}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
          "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00001-of-00002.safetensors"}})",
      false};
  sharded.files["pytorch_model-00001-of-00002.bin"] = {"never", true};
  hub_.add_repo(sharded);
  auto pulled = pull("winnow-test/sharded", "main", options());
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  const auto& files = pulled->files;
  EXPECT_NE(std::find(files.begin(), files.end(), "model-00001-of-00002.safetensors"), files.end());
  EXPECT_NE(std::find(files.begin(), files.end(), "model-00002-of-00002.safetensors"), files.end());
  EXPECT_NE(std::find(files.begin(), files.end(), "model.safetensors.index.json"), files.end());
  EXPECT_EQ(hub_.count("", "", "pytorch_model"), 0u);
  EXPECT_TRUE(check_snapshot_complete(pulled->snapshot_dir).ok());
}

TEST_F(HubDownloadTest, UnknownModelOrRevisionIsNotFound) {
  auto repo = pull("winnow-test/nope", "main", options());
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), base::StatusCode::kNotFound);
  EXPECT_TRUE(contains(repo.status().message(), "no model winnow-test/nope at revision main on " + hub_.endpoint()))
      << repo.status().message();
  auto revision = pull(kRepo, "v9", options());
  ASSERT_FALSE(revision.ok());
  EXPECT_EQ(revision.status().code(), base::StatusCode::kNotFound);
  EXPECT_TRUE(contains(revision.status().message(), std::string("no model ") + kRepo + " at revision v9 on "))
      << revision.status().message();
}

TEST_F(HubDownloadTest, PullAtACommitWritesNoRef) {
  auto pulled = pull(kRepo, kCommit, options());
  ASSERT_TRUE(pulled.ok()) << pulled.status().to_string();
  EXPECT_FALSE(fs::exists(repo_dir() / "refs"));
  EXPECT_TRUE(find_cached_snapshot(cache_, kRepo, std::string(kCommit)).ok());
}

TEST_F(HubDownloadTest, UnreachableEndpointIsUnavailableNamingIt) {
  PullOptions o = options();
  o.endpoint = "http://127.0.0.1:" + std::to_string(test_support::closed_port());
  o.retry.max_retries = 1;
  auto pulled = pull(kRepo, "main", o);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), base::StatusCode::kUnavailable);
  EXPECT_TRUE(contains(pulled.status().message(), "cannot reach " + *o.endpoint)) << pulled.status().message();
  EXPECT_TRUE(contains(pulled.status().message(), "2 tries")) << pulled.status().message();
}

TEST_F(HubDownloadTest, ProgressReportsEachFileToCompletion) {
  std::mutex mu;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> last;
  PullOptions o = options();
  o.on_progress = [&](const std::string& file, std::uint64_t done, std::uint64_t total, double speed) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_GE(speed, 0.0);
    EXPECT_LE(done, total);
    last[file] = {done, total};
  };
  ASSERT_TRUE(pull(kRepo, "main", o).ok());
  ASSERT_EQ(last.size(), wanted().size());
  EXPECT_EQ(last["model.safetensors"].first, weights().size());
  EXPECT_EQ(last["model.safetensors"].second, weights().size());
}

TEST(PullFileSelection, TakesWhatTheEngineReadsOnly) {
  auto files = pull_file_selection(
      "org/m", {"config.json", "model.safetensors", "pytorch_model.bin", "onnx/model.onnx", "tokenizer.json",
                "tokenizer_config.json", "1_Pooling/config.json", "README.md", "model.safetensors.index.json",
                "vocab.txt", "modules.json"});
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{"config.json", "tokenizer.json", "tokenizer_config.json", "modules.json",
                                              "1_Pooling/config.json", "model.safetensors"}));
  auto sharded = pull_file_selection("org/m", {"config.json", "model.safetensors.index.json", "a.safetensors"});
  ASSERT_TRUE(sharded.ok());
  EXPECT_EQ(sharded->back(), "model.safetensors.index.json");
  auto no_config = pull_file_selection("org/m", {"model.safetensors"});
  EXPECT_EQ(no_config.status().code(), base::StatusCode::kFailedPrecondition);
}

TEST(HubEnvironment, OfflineFlagSpellings) {
  for (const char* on : {"1", "true", "YES", "On"}) {
    ScopedEnv env("HF_HUB_OFFLINE", on);
    EXPECT_TRUE(hub_offline()) << on;
  }
  for (const char* off : {"0", "false", ""}) {
    ScopedEnv env("HF_HUB_OFFLINE", off);
    EXPECT_FALSE(hub_offline()) << off;
  }
}

}  // namespace
}  // namespace winnow::hub

#include "hub/hub_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace winnow::hub {
namespace {

namespace fs = std::filesystem;

class HubCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = fs::temp_directory_path() / ("winnow_hub_cache_test_" + std::to_string(::getpid()));
    fs::remove_all(cache_);
    repo_ = cache_ / "models--BAAI--bge-reranker-v2-m3";
    fs::create_directories(repo_ / "refs");
    fs::create_directories(repo_ / "snapshots" / kCommit);
    std::ofstream(repo_ / "refs" / "main") << kCommit;
    std::ofstream(repo_ / "snapshots" / kCommit / "config.json") << "{}";
  }
  void TearDown() override { fs::remove_all(cache_); }

  static constexpr const char* kCommit = "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e";
  fs::path cache_;
  fs::path repo_;
};

TEST_F(HubCacheTest, FindsTheSnapshotThatMainPointsAt) {
  auto snapshot = find_cached_snapshot(cache_, "BAAI/bge-reranker-v2-m3");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  EXPECT_EQ(*snapshot, repo_ / "snapshots" / kCommit);
}

TEST_F(HubCacheTest, FindsACommitHashRevisionDirectly) {
  auto snapshot = find_cached_snapshot(cache_, "BAAI/bge-reranker-v2-m3", std::string(kCommit));
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->filename(), kCommit);
}

TEST_F(HubCacheTest, MissingRepoAndRevisionAreNotFoundNamingWhatWasSearched) {
  auto missing = find_cached_snapshot(cache_, "BAAI/bge-m3");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("models--BAAI--bge-m3"), std::string::npos);
  auto revision = find_cached_snapshot(cache_, "BAAI/bge-reranker-v2-m3", std::string("v2"));
  ASSERT_FALSE(revision.ok());
  EXPECT_NE(revision.status().message().find("revision 'v2'"), std::string::npos);
}

TEST_F(HubCacheTest, ListsCachedRepos) {
  auto repos = list_cached_repos(cache_);
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].repo_id, "BAAI/bge-reranker-v2-m3");
}

TEST_F(HubCacheTest, SnapshotLinksAreRelativeAndReplaceAtomically) {
  const std::string etag = "2d4a8e9f0c1b3a5d7e9f0c1b3a5d7e9f0c1b3a5d";
  fs::create_directories(repo_ / "blobs");
  std::ofstream(repo_ / "blobs" / etag) << "{\"pooling_mode_mean_tokens\": true}";
  ASSERT_TRUE(link_snapshot_file(cache_, "BAAI/bge-reranker-v2-m3", kCommit, "1_Pooling/config.json", etag).ok());
  const fs::path nested = repo_ / "snapshots" / kCommit / "1_Pooling" / "config.json";
  EXPECT_EQ(fs::read_symlink(nested).string(), "../../../blobs/" + etag);
  EXPECT_TRUE(fs::is_regular_file(nested));  // resolves
  // Replacing an existing link (here the plain file config.json) leaves no temporary behind.
  ASSERT_TRUE(link_snapshot_file(cache_, "BAAI/bge-reranker-v2-m3", kCommit, "config.json", etag).ok());
  EXPECT_EQ(fs::read_symlink(repo_ / "snapshots" / kCommit / "config.json").string(), "../../blobs/" + etag);
  for (const auto& entry : fs::directory_iterator(repo_ / "snapshots" / kCommit)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
  EXPECT_EQ(blob_lock_path(cache_, "BAAI/bge-reranker-v2-m3", etag),
            cache_ / ".locks" / "models--BAAI--bge-reranker-v2-m3" / (etag + ".lock"));
}

TEST_F(HubCacheTest, RefsAreWrittenWithoutNewlineAndNestedNamesWork) {
  ASSERT_TRUE(write_ref(cache_, "BAAI/bge-reranker-v2-m3", "refs/pr/1", kCommit).ok());
  std::ifstream in(repo_ / "refs" / "refs" / "pr" / "1");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, kCommit);
  auto snapshot = find_cached_snapshot(cache_, "BAAI/bge-reranker-v2-m3", std::string("refs/pr/1"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
}

TEST(HubCacheDirTest, HonoursTheEnvironmentInHuggingFaceOrder) {
  setenv("HF_HUB_CACHE", "/x/hub-cache", 1);
  setenv("HF_HOME", "/x/hf-home", 1);
  EXPECT_EQ(hub_cache_dir(), fs::path("/x/hub-cache"));
  unsetenv("HF_HUB_CACHE");
  EXPECT_EQ(hub_cache_dir(), fs::path("/x/hf-home/hub"));
  unsetenv("HF_HOME");
  setenv("HOME", "/home/u", 1);
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(hub_cache_dir(), fs::path("/home/u/.cache/huggingface/hub"));
}

TEST(RepoIdTest, RecognisesRepoIdsAndRejectsPaths) {
  EXPECT_TRUE(looks_like_repo_id("BAAI/bge-reranker-v2-m3"));
  EXPECT_TRUE(looks_like_repo_id("cross-encoder/ms-marco-MiniLM-L-6-v2"));
  EXPECT_TRUE(looks_like_repo_id("gpt2"));
  EXPECT_FALSE(looks_like_repo_id("/abs/path"));
  EXPECT_FALSE(looks_like_repo_id("a/b/c"));
  EXPECT_FALSE(looks_like_repo_id("../up"));
  EXPECT_FALSE(looks_like_repo_id(""));
  EXPECT_EQ(repo_cache_folder("BAAI/bge-m3"), "models--BAAI--bge-m3");
}

}  // namespace
}  // namespace winnow::hub

// Crash safety: the vector indexes are caches of SQLite and are repaired on
// open; a SIGKILLed ingest keeps every acknowledged batch.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "base/files.h"
#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using testing::dot;
using testing::random_unit_vector;
using testing::TempDir;

constexpr std::size_t kDims = 16;

// The truth the test keeps beside the store: live documents and their vectors.
using Truth = std::map<std::string, std::vector<float>>;

std::string line_for(const std::string& id, const std::vector<float>& vector, const std::string& word) {
  nlohmann::json line = {{"id", id}, {"text", "common " + word}, {"vectors", {{"v", vector}}}};
  return line.dump() + "\n";
}

// A word Porter leaves alone (consonants only) that is unique to document i.
std::string unique_word(std::size_t i) {
  static const std::string kLetters = "bcdfghjklmnpqrtvwxz";
  std::string word = "q";
  do {
    word += kLetters[i % kLetters.size()];
    i /= kLetters.size();
  } while (i > 0);
  return word;
}

// Checks that vector search agrees with an exact scan of `truth`: every hit is
// a live document scored with its current vector, and recall@10 >= 0.95.
void expect_agrees_with_exact_scan(Store& store, const Truth& truth, std::mt19937& rng) {
  std::size_t found = 0, wanted_total = 0;
  for (int q = 0; q < 40; ++q) {
    std::vector<float> query = random_unit_vector(rng, kDims);
    std::vector<std::pair<float, std::string>> scored;
    for (const auto& [id, vector] : truth) scored.push_back({dot(vector, query), id});
    std::sort(scored.rbegin(), scored.rend());
    std::set<std::string> wanted;
    for (std::size_t i = 0; i < 10 && i < scored.size(); ++i) wanted.insert(scored[i].second);
    auto hits = store.vector_search("c", "v", query, 10);
    ASSERT_TRUE(hits.ok()) << hits.status().to_string();
    for (const auto& hit : *hits) {
      auto it = truth.find(hit.document_id);
      ASSERT_NE(it, truth.end()) << hit.document_id << " is deleted but came back";
      EXPECT_NEAR(hit.score, dot(it->second, query), 1e-4) << hit.document_id << " has a stale vector";
      found += wanted.count(hit.document_id);
    }
    wanted_total += wanted.size();
  }
  EXPECT_GE(static_cast<double>(found) / static_cast<double>(wanted_total), 0.95);
}

class IndexRepair : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.vector.exact_threshold = 500;
    options_.vector.hnsw_ef_construction = 100;  // keeps the sanitizer build quick
    std::mt19937 rng(11);
    // Phase 1: 1,200 documents, saved by a clean close.
    {
      auto opened = Store::open(dir_.path(), options_);
      ASSERT_TRUE(opened.ok()) << opened.status().to_string();
      auto store = std::move(opened).value();
      WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}}}}}));
      std::string lines;
      for (std::size_t i = 0; i < 1200; ++i) {
        std::string id = "d" + std::to_string(i);
        truth_[id] = random_unit_vector(rng, kDims);
        lines += line_for(id, truth_[id], unique_word(i));
      }
      std::istringstream input(lines);
      WINNOW_ASSERT_OK(store->ingest("c", input));
    }
    index_file_ = dir_.path() / "indexes" / "c1.v.hnsw";
    ASSERT_TRUE(std::filesystem::exists(index_file_));
    backup_ = dir_.path() / "backup";
    std::filesystem::create_directories(backup_);
    std::filesystem::copy(index_file_, backup_ / "c1.v.hnsw");
    std::filesystem::copy(meta(index_file_), backup_ / "c1.v.hnsw.meta");

    // Phase 2, in a child that dies without closing the store (no save): 300
    // new documents, 100 replaced vectors, 100 deletions: 500 changes.
    Truth after = truth_;
    std::string lines;
    for (std::size_t i = 1200; i < 1500; ++i) {
      std::string id = "d" + std::to_string(i);
      after[id] = random_unit_vector(rng, kDims);
      lines += line_for(id, after[id], unique_word(i));
    }
    for (std::size_t i = 0; i < 100; ++i) {
      std::string id = "d" + std::to_string(i);
      after[id] = random_unit_vector(rng, kDims);
      lines += line_for(id, after[id], unique_word(i));
    }
    std::vector<std::string> deleted;
    for (std::size_t i = 100; i < 200; ++i) {
      deleted.push_back("d" + std::to_string(i));
      after.erase(deleted.back());
    }
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = Store::open(dir_.path(), options_);
      if (!store.ok()) _exit(2);
      std::istringstream input(lines);
      if (!(*store)->ingest("c", input).ok()) _exit(3);
      for (const auto& id : deleted) {
        if (!(*store)->delete_document("c", id).ok()) _exit(4);
      }
      _exit(0);  // a crash: no destructor, no checkpoint
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    truth_ = std::move(after);
  }

  static std::filesystem::path meta(const std::filesystem::path& file) {
    std::filesystem::path out = file;
    out += ".meta";
    return out;
  }

  // Reopens, checks how the index came back and that searches agree.
  void reopen_and_check(const std::string& expected_origin) {
    auto opened = Store::open(dir_.path(), options_);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    auto store = std::move(opened).value();
    auto info = store->vector_index_info("c", "v");
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_NE(info->origin.find(expected_origin), std::string::npos) << "origin: " << info->origin;
    EXPECT_TRUE(info->hnsw);
    EXPECT_EQ(info->vectors, truth_.size());
    std::mt19937 rng(5);
    expect_agrees_with_exact_scan(*store, truth_, rng);
    auto deleted = store->text_search("c", unique_word(150), 10);
    ASSERT_TRUE(deleted.ok());
    EXPECT_TRUE(deleted->empty());
  }

  void restore_backup() {
    std::filesystem::copy(backup_ / "c1.v.hnsw", index_file_, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy(backup_ / "c1.v.hnsw.meta", meta(index_file_),
                          std::filesystem::copy_options::overwrite_existing);
  }

  TempDir dir_;
  StoreOptions options_;
  Truth truth_;
  std::filesystem::path index_file_, backup_;
};

TEST_F(IndexRepair, AnIndexBehindTheDocumentsIsCaughtUpFromTheChangeLog) {
  reopen_and_check("caught up 500 changes");
  // The clean close saved the caught-up index: the next open just loads it.
  reopen_and_check("loaded");
}

TEST_F(IndexRepair, AMissingIndexFileIsRebuilt) {
  std::filesystem::remove(index_file_);
  reopen_and_check("rebuilt: no index file");
}

TEST_F(IndexRepair, ACorruptIndexFileIsRebuilt) {
  {
    std::fstream file(index_file_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(std::filesystem::file_size(index_file_) / 2));
    file.write("garbage!", 8);
  }
  reopen_and_check("rebuilt: ");
  std::filesystem::resize_file(index_file_, 100);  // truncated after the save above
  reopen_and_check("rebuilt: ");
}

TEST_F(IndexRepair, AnIndexFromAnotherStoreOrSchemaIsRebuilt) {
  auto header = base::read_json_file(meta(index_file_));
  ASSERT_TRUE(header.ok());
  nlohmann::json foreign = *header;
  foreign["store_id"] = "0123456789abcdef0123456789abcdef";
  std::ofstream(meta(index_file_)) << foreign.dump();
  reopen_and_check("rebuilt: ");

  header = base::read_json_file(meta(index_file_));
  nlohmann::json old_format = *header;
  old_format["format"] = 0;
  std::ofstream(meta(index_file_)) << old_format.dump();
  reopen_and_check("rebuilt: ");

  header = base::read_json_file(meta(index_file_));
  nlohmann::json newer = *header;
  newer["applied_seq"] = 1'000'000'000;
  std::ofstream(meta(index_file_)) << newer.dump();
  reopen_and_check("newer than the database");
}

TEST_F(IndexRepair, AnIndexOlderThanThePrunedLogIsRebuilt) {
  reopen_and_check("caught up");  // the close checkpoints and prunes the log
  restore_backup();               // roll the file back before the pruned changes
  reopen_and_check("change log starts after");
}

// The real thing: a child ingests a large stream and reports each committed
// batch through a pipe; the parent SIGKILLs it mid-stream and checks that
// every acknowledged document is there and the indexes agree.
TEST(KillNine, AcknowledgedBatchesSurviveSigkill) {
  TempDir dir;
  StoreOptions options;
  options.vector.exact_threshold = 1000;
  options.vector.hnsw_ef_construction = 100;  // keeps the sanitizer build quick
  {
    WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path(), options));
    WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}}}}}));
  }
  constexpr std::size_t kDocuments = 20000, kKillAfterLines = 5000, kCheckpointAt = 1500;
  std::mt19937 rng(3);
  std::vector<std::vector<float>> vectors;
  for (std::size_t i = 0; i < kDocuments; ++i) vectors.push_back(random_unit_vector(rng, kDims));

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    auto store = Store::open(dir.path(), options);
    if (!store.ok()) _exit(2);
    std::string first, rest;
    for (std::size_t i = 0; i < kDocuments; ++i) {
      (i < kCheckpointAt ? first : rest) += line_for("d" + std::to_string(i), vectors[i], unique_word(i));
    }
    IngestOptions ingest;
    ingest.batch_lines = 250;
    std::size_t base_line = 0;
    ingest.on_batch_committed = [&](std::size_t lines) {
      std::uint64_t done = base_line + lines;
      if (write(pipe_fds[1], &done, sizeof(done)) != sizeof(done)) _exit(5);
    };
    std::istringstream head(first);
    if (!(*store)->ingest("c", head, ingest).ok()) _exit(3);
    if (!(*store)->checkpoint().ok()) _exit(4);  // an index file that will be behind
    base_line = kCheckpointAt;
    std::istringstream tail(rest);
    (*store)->ingest("c", tail, ingest).status().ignore_error();
    _exit(0);
  }
  close(pipe_fds[1]);
  std::uint64_t acknowledged = 0, done = 0;
  while (read(pipe_fds[0], &done, sizeof(done)) == sizeof(done)) {
    acknowledged = done;
    if (acknowledged >= kKillAfterLines) {
      kill(child, SIGKILL);
      break;
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(pipe_fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child ended before the kill: " << status;
  std::printf("killed the ingest after %llu acknowledged lines\n", static_cast<unsigned long long>(acknowledged));

  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path(), options));
  WINNOW_ASSERT_OK_AND_ASSIGN(Collection collection, store->get_collection("c"));
  ASSERT_GE(collection.document_count, static_cast<std::int64_t>(acknowledged));
  std::size_t stored = static_cast<std::size_t>(collection.document_count);
  ASSERT_LE(stored, kDocuments);
  // Documents are committed in line order: exactly the first `stored` lines.
  for (std::size_t i = 0; i < stored; ++i) {
    auto document = store->get_document("c", "d" + std::to_string(i));
    ASSERT_TRUE(document.ok()) << "d" << i << " (acknowledged: " << acknowledged << "): " << document.status().to_string();
  }
  EXPECT_EQ(store->get_document("c", "d" + std::to_string(stored)).status().code(), base::StatusCode::kNotFound);

  // BM25 agrees: every document is in the FTS table exactly once.
  WINNOW_ASSERT_OK_AND_ASSIGN(auto all, store->text_search("c", "common", kDocuments));
  EXPECT_EQ(all.size(), stored);
  for (std::size_t i = 0; i < stored; i += 97) {
    WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store->text_search("c", unique_word(i), 3));
    ASSERT_FALSE(hits.empty()) << "d" << i;
    EXPECT_EQ(hits[0].document_id, "d" + std::to_string(i));
  }
  // Vector search agrees: the index holds every stored document, caught up
  // from the file the checkpoint wrote.
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexInfo info, store->vector_index_info("c", "v"));
  std::printf("vector index after the kill: %zu vectors, %s, %s\n", info.vectors, info.hnsw ? "HNSW" : "exact",
              info.origin.c_str());
  EXPECT_EQ(info.vectors, stored);
  EXPECT_NE(info.origin.find("caught up"), std::string::npos) << info.origin;
  Truth truth;
  for (std::size_t i = 0; i < stored; ++i) truth["d" + std::to_string(i)] = vectors[i];
  std::mt19937 query_rng(9);
  expect_agrees_with_exact_scan(*store, truth, query_rng);
  std::size_t self_found = 0, probes = 0;
  for (std::size_t i = 0; i < stored; i += 53, ++probes) {
    WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store->vector_search("c", "v", vectors[i], 1));
    self_found += !hits.empty() && hits[0].document_id == "d" + std::to_string(i);
  }
  EXPECT_GE(static_cast<double>(self_found) / static_cast<double>(probes), 0.95);
}

TEST(IndexFiles, OpenRemovesWhatACrashLeftBehind) {
  TempDir dir;
  const auto indexes = dir.path() / "indexes";
  std::filesystem::create_directories(indexes);
  // A deleted collection's files (removed after its commit) and a cut save.
  for (const char* name : {"c7.v.hnsw", "c7.v.hnsw.meta", "c1.v.hnsw.tmp", "c1.v.hnsw.meta.tmp.12.3.4"}) {
    std::ofstream(indexes / name) << "x";
  }
  std::ofstream(indexes / "notes.txt") << "not the store's";
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(indexes)) left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"notes.txt"});
}

}  // namespace
}  // namespace winnow::store

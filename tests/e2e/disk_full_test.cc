// A full disk, for real: the server's data directory on a small tmpfs that a
// ballast file fills until writes fail with ENOSPC (support/small_disk.h).
// Every write kind answers 507 with a message that says the disk is full and
// what was stored; reads go on; nothing acknowledged is lost, before or after
// a kill -9 on the full disk; once the ballast is gone, writes work again.
#include <gtest/gtest.h>

#include <sys/mount.h>

#include <regex>

#include "e2e/store_checks.h"
#include "support/small_disk.h"

namespace winnow::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    disk_ = fresh_dir("disk_full");
    ASSERT_EQ(mount_small_disk(disk_, 16u << 20), "");
    data_ = disk_ / "data";
    server_ = std::make_unique<ServerProcess>(data_);
    auto c = server_->client();
    ASSERT_EQ(http_post(*c, "/v1/collections", checked_collection("docs")).status, 201);
    auto r = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(0, 300), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(http_post(*c, "/v1/retrievers", retriever("r1")).status, 201);
  }
  void TearDown() override {
    server_.reset();
    ::umount2(disk_.c_str(), MNT_DETACH);
    std::error_code ignored;
    fs::remove_all(disk_, ignored);
  }

  static json retriever(const std::string& id) {
    return {{"retriever_id", id},
            {"collection_ids", {"docs"}},
            {"stages", {stage("filter", "text_search", {{"query", "{{INPUT.query}}"}, {"top_k", 10}})}}};
  }

  // A 507 whose message says the disk is full, names the database and says `what`.
  static ::testing::AssertionResult disk_full(const HttpResult& r, const std::string& what) {
    if (r.status != 507) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw;
    if (r.body["error"]["code"] != "out_of_space") return ::testing::AssertionFailure() << r.raw;
    const std::string message = r.body["error"]["message"].get<std::string>();
    for (const std::string& part : {std::string("no space left on device"), std::string("winnow.db"), what}) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "the message lacks \"" << part << "\": " << message;
      }
    }
    return ::testing::AssertionSuccess();
  }

  // What every test checks while the disk is full and after: reads work and
  // the indexes agree with SQLite.
  void expect_readable(httplib::Client& c, long documents) {
    IndexCounts n = index_counts(c, "docs");
    EXPECT_EQ(n.stored, documents);
    EXPECT_TRUE(indexes_agree(c, "docs"));
    auto run = http_post(c, "/v1/retrievers/r1/execute", json{{"inputs", {{"query", "tok42"}}}});
    ASSERT_EQ(run.status, 200) << run.raw;
    ASSERT_FALSE(run.body["documents"].empty()) << run.raw;
    EXPECT_EQ(run.body["documents"][0]["document_id"], "doc42");
  }

  fs::path disk_, data_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(DiskFullTest, EveryWriteKindAnswers507SayingWhatWasStoredAndWorksOnceSpaceIsFreed) {
  auto c = server_->client();
  const fs::path ballast = disk_ / "ballast";

  // Full to the last byte: every write kind fails the same clear way and
  // leaves no trace. (This comes first: a failed write leaves the pages it
  // took in SQLite's write-ahead log, room that later small writes reuse.)
  ASSERT_EQ(fill_disk(ballast), "");
  auto none = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(30000, 30010), "application/x-ndjson");
  EXPECT_TRUE(disk_full(none, "nothing of this request was stored"));
  EXPECT_TRUE(disk_full(http_post(*c, "/v1/collections", checked_collection("more")),
                        "collection 'more' was not created"));
  EXPECT_TRUE(disk_full(http_post(*c, "/v1/retrievers", retriever("r2")), "retriever 'r2' was not stored"));
  EXPECT_TRUE(disk_full(http_delete(*c, "/v1/collections/docs/documents/doc7"),
                        "document 'doc7' was not deleted from collection 'docs'"));
  EXPECT_TRUE(disk_full(http_delete(*c, "/v1/collections/docs"), "collection 'docs' was not deleted"));
  EXPECT_TRUE(disk_full(http_delete(*c, "/v1/retrievers/r1"), "retriever 'r1' was not deleted"));
  EXPECT_EQ(http_get(*c, "/v1/collections/more").status, 404);
  EXPECT_EQ(http_get(*c, "/v1/retrievers/r2").status, 404);
  EXPECT_EQ(http_get(*c, "/v1/collections/docs/documents/doc7").status, 200);
  EXPECT_EQ(http_get(*c, "/v1/collections/docs/documents/doc30000").status, 404);
  EXPECT_EQ(http_get(*c, "/health").status, 200);
  expect_readable(*c, 300);

  // Room for a few commit batches of 500 documents, not for 8,000 (2 MB, which
  // the server drains after its early answer, so the client reads it): the
  // message says how many were stored, and exactly those are.
  ASSERT_EQ(fill_disk(ballast, 1u << 20), "");
  auto big = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(1000, 9000, 12), "application/x-ndjson");
  ASSERT_TRUE(disk_full(big, "ingest stopped at line")) << big.raw;
  const std::string message = big.body["error"]["message"].get<std::string>();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(message, m, std::regex(R"((\d+) documents of lines 1 to (\d+) are stored)")))
      << "the message should say what was stored: " << message;
  const long stored = std::stol(m[1]);
  const long lines = std::stol(m[2]);
  EXPECT_GT(stored, 0) << message;
  EXPECT_EQ(stored, lines) << "every line is a good document";
  EXPECT_EQ(stored % 500, 0) << "whole commit batches";
  EXPECT_EQ(http_get(*c, "/v1/collections/docs/documents/doc" + std::to_string(1000 + stored - 1)).status, 200);
  EXPECT_EQ(http_get(*c, "/v1/collections/docs/documents/doc" + std::to_string(1000 + stored)).status, 404);
  long documents = 300 + stored;
  expect_readable(*c, documents);

  // Space comes back: the same writes succeed, on the same server.
  fs::remove(ballast);
  auto more = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(30000, 30010), "application/x-ndjson");
  ASSERT_EQ(more.status, 200) << more.raw;
  EXPECT_EQ(more.body["documents_stored"], 10);
  EXPECT_EQ(http_post(*c, "/v1/collections", checked_collection("more")).status, 201);
  EXPECT_EQ(http_post(*c, "/v1/retrievers", retriever("r2")).status, 201);
  EXPECT_EQ(http_delete(*c, "/v1/collections/docs/documents/doc7").status, 200);
  documents += 10 - 1;
  expect_readable(*c, documents);

  // And a restart finds all of it.
  EXPECT_EQ(server_->stop(), 0) << server_->log();
  server_ = std::make_unique<ServerProcess>(data_);
  c = server_->client();
  expect_readable(*c, documents);
  EXPECT_EQ(http_get(*c, "/v1/collections/docs/documents/doc7").status, 404);
  EXPECT_EQ(http_get(*c, "/v1/collections/more").status, 200);
  EXPECT_EQ(http_get(*c, "/v1/retrievers/r2").status, 200);
  EXPECT_EQ(sqlite_integrity(data_), "ok");
}

TEST_F(DiskFullTest, KillNineOnAFullDiskLosesNothingAndTheRestartServesIt) {
  const fs::path ballast = disk_ / "ballast";
  ASSERT_EQ(fill_disk(ballast), "");
  {
    auto c = server_->client();
    EXPECT_TRUE(disk_full(http_post(*c, "/v1/collections/docs/documents", checked_ndjson(300, 2300),
                                    "application/x-ndjson"),
                          "nothing of this request was stored"));
  }
  server_->kill9();

  // The store opens on the still-full disk: reads work, writes say why not.
  server_ = std::make_unique<ServerProcess>(data_);
  auto c = server_->client();
  expect_readable(*c, 300);
  EXPECT_TRUE(disk_full(http_post(*c, "/v1/retrievers", retriever("r2")), "retriever 'r2' was not stored"));
  EXPECT_EQ(sqlite_integrity(data_), "ok");

  fs::remove(ballast);
  auto more = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(300, 2300), "application/x-ndjson");
  ASSERT_EQ(more.status, 200) << more.raw;
  EXPECT_EQ(http_post(*c, "/v1/retrievers", retriever("r2")).status, 201);
  expect_readable(*c, 2300);
}

}  // namespace
}  // namespace winnow::testing

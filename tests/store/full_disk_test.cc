// The store on a disk that fills up for real (a small tmpfs, see
// support/small_disk.h): the HNSW index file and SQLite report OutOfSpace
// naming the file, nothing half-written is left or loaded, and everything
// works again once space is freed.
#include <gtest/gtest.h>

#include <sys/mount.h>

#include <random>
#include <sstream>

#include "store/store.h"
#include "support/small_disk.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using testing::random_unit_vector;
using testing::TempDir;

// Unmounts the small disk before its TempDir removes the directory.
struct Unmount {
  std::filesystem::path dir;
  ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
};

std::string lines(std::size_t from, std::size_t to, std::mt19937& rng) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    nlohmann::json line = {{"id", "d" + std::to_string(i)}, {"text", "common"}, {"vectors", {{"v", random_unit_vector(rng, 16)}}}};
    out += line.dump() + "\n";
  }
  return out;
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FullDisk, HnswSaveSaysNoSpaceNamesTheFileAndKeepsTheSavedOne) {
  TempDir disk;
  ASSERT_EQ(winnow::testing::mount_small_disk(disk.path(), 8u << 20), "");
  Unmount unmount{disk.path()};
  const auto data = disk.path() / "data";
  StoreOptions options;
  options.vector.exact_threshold = 100;  // HNSW, persisted, from 100 vectors
  std::mt19937 rng(11);
  {
    WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(data, options));
    WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}}}}}));
    std::istringstream first(lines(0, 400, rng));
    WINNOW_ASSERT_OK(store->ingest("c", first));
    WINNOW_ASSERT_OK(store->checkpoint());
    const std::vector<std::string> saved = files_in(data / "indexes");
    ASSERT_EQ(saved, (std::vector<std::string>{"c1.v.hnsw", "c1.v.hnsw.meta"}));

    std::istringstream more(lines(400, 450, rng));
    WINNOW_ASSERT_OK(store->ingest("c", more));
    ASSERT_EQ(winnow::testing::fill_disk(disk.path() / "ballast"), "");
    base::Status full = store->checkpoint();
    EXPECT_EQ(full.code(), base::StatusCode::kOutOfSpace) << full.to_string();
    EXPECT_NE(full.message().find((data / "indexes" / "c1.v.hnsw.tmp").string()), std::string::npos) << full.message();
    EXPECT_NE(full.message().find("no space left on device"), std::string::npos) << full.message();
    EXPECT_EQ(files_in(data / "indexes"), saved) << "the half-written file is removed, the saved one kept";

    // Reads go on; a write says the same.
    WINNOW_ASSERT_OK_AND_ASSIGN(auto page, store->list_documents("c", "", 1000));
    EXPECT_EQ(page.documents.size(), 450u);
    std::istringstream refused(lines(450, 460, rng));
    auto report = store->ingest("c", refused);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), base::StatusCode::kOutOfSpace) << report.status().to_string();
    EXPECT_NE(report.status().message().find((data / "winnow.db").string() + ": no space left on device"),
              std::string::npos)
        << report.status().message();

    std::filesystem::remove(disk.path() / "ballast");
    WINNOW_ASSERT_OK(store->checkpoint());
  }
  // The file saved once space was back is the one the next open loads.
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(data, options));
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexInfo info, store->vector_index_info("c", "v"));
  EXPECT_EQ(info.origin, "loaded");
  EXPECT_EQ(info.vectors, 450u);
}

}  // namespace
}  // namespace winnow::store

#include "base/files.h"
#include "base/mapped_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include <sys/mount.h>

#include "support/small_disk.h"

namespace winnow::base {
namespace {

std::filesystem::path temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("winnow_base_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

TEST(FilesTest, MissingFileIsNotFoundAndNamesThePath) {
  auto r = read_file("/nonexistent/dir/config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/config.json"), std::string::npos);
}

TEST(FilesTest, JsonSyntaxErrorNamesSourceLineAndColumn) {
  auto r = parse_json("{\n  \"a\": 1,\n  \"b\": ]\n}", "config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("config.json: invalid JSON at line 3, column 8"), std::string::npos)
      << r.status().message();
}

TEST(FilesTest, JsonNestedPastTheLimitIsRefusedNotACrash) {
  // Hostile bodies: 70,000 '[' would overflow the stack of any recursive walk.
  for (std::size_t depth : {kMaxJsonDepth + 1, std::size_t{70000}}) {
    std::string text = "{\"top_n\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
    auto r = parse_json(text, "request body");
    ASSERT_FALSE(r.ok()) << depth;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("nested deeper than 512 levels"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("at top_n"), std::string::npos) << r.status().message();
  }
  // The limit itself is fine: the outer object plus 511 arrays.
  std::string at_limit = "{\"a\": " + std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']') + "}";
  EXPECT_TRUE(parse_json(at_limit, "x").ok());
  EXPECT_FALSE(parse_ordered_json("[" + at_limit + "]", "x").ok());
}

TEST(FilesTest, NumberOverflowNamesTheField) {
  auto r = parse_json(R"({"id": "x", "metadata": {"ok": 1, "n": 1e400}})", "line 3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 3: field metadata.n: number overflow"), std::string::npos)
      << r.status().message();

  auto in_array = parse_ordered_json(R"({"documents": ["a", {"text": "b"}, -1e999]})", "request body");
  ASSERT_FALSE(in_array.ok());
  EXPECT_NE(in_array.status().message().find("field documents[2]"), std::string::npos) << in_array.status().message();

  auto top = parse_json("1e400", "--input-json k");
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("--input-json k: number overflow"), std::string::npos)
      << top.status().message();
}

TEST(FilesTest, OrderedJsonKeepsMemberOrder) {
  auto r = parse_ordered_json(R"({"z": 1, "a": [1, 2, {"m": null}], "b": true})", "x");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->dump(), R"({"z":1,"a":[1,2,{"m":null}],"b":true})");
}

TEST(FilesTest, AtomicWriteThenMapReadsTheSameBytes) {
  auto path = temp_path("blob.bin");
  ASSERT_TRUE(write_file_durably(path, std::string("abc\0def", 7)).ok());
  auto mapped = MappedFile::open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status().to_string();
  ASSERT_EQ(mapped->size(), 7u);
  EXPECT_EQ(mapped->bytes()[3], 0);
  EXPECT_EQ(mapped->bytes()[6], 'f');
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(FilesTest, MappingADirectoryFails) {
  auto r = MappedFile::open(std::filesystem::temp_directory_path());
  EXPECT_FALSE(r.ok());
}

TEST(FilesTest, DurableWriteOnAFullDiskIsOutOfSpaceAndKeepsTheOldContents) {
  const auto dir = temp_path("full_disk");
  std::filesystem::create_directories(dir);
  ASSERT_EQ(winnow::testing::mount_small_disk(dir, 1u << 20), "");
  const auto file = dir / "settings.json";
  ASSERT_TRUE(write_file_durably(file, "old").ok());
  ASSERT_EQ(winnow::testing::fill_disk(dir / "ballast"), "");
  Status full = write_file_durably(file, std::string(64 << 10, 'n'));
  EXPECT_EQ(full.code(), StatusCode::kOutOfSpace) << full.to_string();
  EXPECT_NE(full.message().find(file.string() + ".tmp."), std::string::npos) << full.message();
  EXPECT_NE(full.message().find("no space left on device"), std::string::npos) << full.message();
  auto kept = read_file(file);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "old");
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2u) << "the temporary file is removed";
  std::filesystem::remove(dir / "ballast");
  EXPECT_TRUE(write_file_durably(file, "new").ok());
  ::umount2(dir.c_str(), MNT_DETACH);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::base

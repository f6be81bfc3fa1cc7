#include "base/files.h"
#include "base/mapped_file.h"

#include <gtest/gtest.h>

#include <fstream>

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

}  // namespace
}  // namespace winnow::base

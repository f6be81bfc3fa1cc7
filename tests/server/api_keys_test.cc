#include "server/api_keys.h"

#include <gtest/gtest.h>

#include <fstream>

namespace winnow::server {
namespace {

TEST(ConstantTimeEqualTest, IsEquality) {
  EXPECT_TRUE(constant_time_equal("s3cret", "s3cret"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3creT"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3cret "));
  EXPECT_FALSE(constant_time_equal("s3cret", ""));
  EXPECT_FALSE(constant_time_equal("a", std::string("a\0", 2)));
  EXPECT_TRUE(constant_time_equal(std::string(1000, 'k'), std::string(1000, 'k')));
}

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("winnow_keys_" + std::to_string(::getpid()) + name);
  std::ofstream(path) << text;
  return path;
}

TEST(KeyFileTest, OneKeyPerLineCommentsAndBlanksIgnored) {
  auto path = write_file("a", "# production keys\n\n  k-one  \nk-two\r\n# k-three\n");
  auto keys = read_key_file(path);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(*keys, (std::vector<std::string>{"k-one", "k-two"}));
  auto spaced = write_file("b", "good\nbad key\n");
  auto refused = read_key_file(spaced);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("line 2"), std::string::npos) << refused.status().message();
  auto empty = write_file("c", "# nothing\n\n");
  EXPECT_FALSE(read_key_file(empty).ok()) << "a file without keys would turn authentication off";
  std::filesystem::remove(path);
  std::filesystem::remove(spaced);
  std::filesystem::remove(empty);
}

TEST(ApiKeysTest, ReloadReplacesFileKeysAndKeepsThemOnError) {
  auto path = write_file("d", "first\n");
  ApiKeys keys;
  ASSERT_TRUE(keys.configure({"fixed"}, path).ok());
  EXPECT_TRUE(keys.accepts("first"));
  EXPECT_TRUE(keys.accepts("fixed"));
  EXPECT_FALSE(keys.accepts("second"));
  std::ofstream(path) << "second\n";
  ASSERT_TRUE(keys.reload().ok());
  EXPECT_FALSE(keys.accepts("first"));
  EXPECT_TRUE(keys.accepts("second"));
  EXPECT_TRUE(keys.accepts("fixed")) << "--api-key stays across reloads";
  std::ofstream(path) << "# emptied by mistake\n";
  EXPECT_FALSE(keys.reload().ok());
  EXPECT_TRUE(keys.accepts("second")) << "a failed reload keeps the keys in force";
  std::filesystem::remove(path);
  EXPECT_FALSE(keys.reload().ok());
  EXPECT_TRUE(keys.accepts("second"));
  ApiKeys none;
  ASSERT_TRUE(none.configure({}, "").ok());
  EXPECT_FALSE(none.enabled());
}

}  // namespace
}  // namespace winnow::server

#include "text/normalizers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace winnow::text {
namespace {

std::string normalize(const std::string& spec_json, std::string text) {
  auto normalizer = make_normalizer(nlohmann::json::parse(spec_json), "tokenizer.json");
  EXPECT_TRUE(normalizer.ok()) << normalizer.status().to_string();
  if (!normalizer.ok()) return "<error>";
  (*normalizer)->normalize(text);
  return text;
}

TEST(BertNormalizerTest, CleansLowercasesAndStripsAccents) {
  const std::string bert = R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,
                               "strip_accents":null,"lowercase":true})";
  EXPECT_EQ(normalize(bert, "Héllo\tWORLD"), "hello world");
  // NUL, U+FFFD and controls go; \v and NEL are White_Space but also Cc, so they go too.
  EXPECT_EQ(normalize(bert, std::string("a\0b\x07" "c\v\xC2\x85" "d\xEF\xBF\xBD", 13)), "abcd");
  // Zero-width space (Cf) is removed, joining the words; NBSP and U+3000 become spaces.
  EXPECT_EQ(normalize(bert, "zero\u200Bwidth a\u00A0b\u3000c"), "zerowidth a b c");
  // CJK ideographs are surrounded by spaces.
  EXPECT_EQ(normalize(bert, "ab中文"), "ab 中  文 ");
  // Per-character lowercasing: no final-sigma rule; İ decomposes then loses its dot.
  EXPECT_EQ(normalize(bert, "ΟΔΟΣ"), "οδοσ");
  EXPECT_EQ(normalize(bert, "\u0130"), "i");
}

TEST(BertNormalizerTest, StripAccentsFollowsLowercaseUnlessSet) {
  EXPECT_EQ(normalize(R"({"type":"BertNormalizer","lowercase":false,"strip_accents":null})", "Éa"), "Éa");
  EXPECT_EQ(normalize(R"({"type":"BertNormalizer","lowercase":false,"strip_accents":true})", "Éa"), "Ea");
  EXPECT_EQ(normalize(R"({"type":"BertNormalizer","lowercase":true,"strip_accents":false})", "Éa"), "éa");
  // Lowercase keeps U+0130's full mapping when accents stay.
  EXPECT_EQ(normalize(R"({"type":"Lowercase"})", "\u0130X"), "i\u0307x");
}

TEST(ReplaceNormalizerTest, StringAndRegexPatterns) {
  EXPECT_EQ(normalize(R"({"type":"Replace","pattern":{"String":"a.b"},"content":"X"})", "a.b aXb a.b"), "X aXb X");
  EXPECT_EQ(normalize(R"({"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"})", "a  b    c d"),
            "a▁b▁c d");
  EXPECT_EQ(normalize(R"({"type":"Replace","pattern":{"Regex":"\\d+"},"content":"#"})", "a12b3"), "a#b#");
}

TEST(ReplaceNormalizerTest, BadRegexNamesTheComponent) {
  auto n = make_normalizer(nlohmann::json::parse(R"({"type":"Replace","pattern":{"Regex":"(a"},"content":""})"),
                           "tokenizer.json");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("tokenizer.json: normalizer \"Replace\""), std::string::npos)
      << n.status().message();
}

TEST(StripNormalizerTest, LeftRightBoth) {
  EXPECT_EQ(normalize(R"({"type":"Strip","strip_left":false,"strip_right":true})", "  a b \u3000\n"), "  a b");
  EXPECT_EQ(normalize(R"({"type":"Strip","strip_left":true,"strip_right":false})", " \t a b "), "a b ");
  EXPECT_EQ(normalize(R"({"type":"Strip","strip_left":true,"strip_right":true})", "   "), "");
}

TEST(UnicodeNormalizerTest, NfkcNfdAndStripAccents) {
  EXPECT_EQ(normalize(R"({"type":"NFKC"})", "\uFB01x\u00B2 \u2460"), "fix2 1");
  EXPECT_EQ(normalize(R"({"type":"NFC"})", "e\u0301"), "\u00E9");
  EXPECT_EQ(normalize(R"({"type":"NFD"})", "\u00E9"), "e\u0301");
  EXPECT_EQ(normalize(R"({"type":"NFKD"})", "\uFB01\u00E9"), "fie\u0301");
  EXPECT_EQ(normalize(R"({"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"StripAccents"}]})",
                      "Me llamó ậ"),
            "Me llamo a");
}

TEST(PrependNormalizerTest, OnlyNonEmpty) {
  EXPECT_EQ(normalize(R"({"type":"Prepend","prepend":"▁"})", "Hello"), "▁Hello");
  EXPECT_EQ(normalize(R"({"type":"Prepend","prepend":"▁"})", ""), "");
}

std::string xlmr_charsmap_spec() {
  std::ifstream in(std::string(WINNOW_TEST_DATA) + "/tokenizers/xlmr-unigram/tokenizer.json");
  auto root = nlohmann::json::parse(in);
  return root["normalizer"]["normalizers"][0].dump();
}

TEST(PrecompiledNormalizerTest, AppliesPerGraphemeCluster) {
  const std::string spec = xlmr_charsmap_spec();
  // NFKC-style rules.
  EXPECT_EQ(normalize(spec, "\uFB01 \uFF21"), "fi A");
  // A cluster under 6 bytes is replaced by its shortest matching prefix: the
  // trailing combining mark of NFD "ế" is dropped.
  EXPECT_EQ(normalize(spec, "e\u0302\u0301"), "\u00EA");
  EXPECT_EQ(normalize(spec, "e\u0301"), "\u00E9");
  // 6 bytes and more: code point by code point, so nothing composes.
  EXPECT_EQ(normalize(spec, "e\u0301\u0301\u0301"), "e\u0301\u0301\u0301");
  // NUL passes through unchanged.
  EXPECT_EQ(normalize(spec, std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(NormalizerFactoryTest, UnsupportedTypeIsNamed) {
  auto n = make_normalizer(nlohmann::json::parse(R"({"type":"Nmt"})"), "tokenizer.json");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(n.status().message(), "tokenizer.json: normalizer type \"Nmt\" is not supported");
  auto nested = make_normalizer(nlohmann::json::parse(R"({"type":"Sequence","normalizers":[{"type":"ByteLevel"}]})"),
                                "tokenizer.json");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("\"ByteLevel\" is not supported"), std::string::npos);
  auto bad_field = make_normalizer(nlohmann::json::parse(R"({"type":"Strip","strip_left":"yes"})"), "tokenizer.json");
  ASSERT_FALSE(bad_field.ok());
  EXPECT_EQ(bad_field.status().message(),
            "tokenizer.json: normalizer \"Strip\": field \"strip_left\" must be a boolean");
}

}  // namespace
}  // namespace winnow::text

namespace winnow::text {
namespace {

// The crate's Unicode data is of several ages (categories 8.0, normalization
// 9.0, case mapping 16.0); these pin one example of each.
TEST(UnicodeVersionsTest, MatchTheCratesTables) {
  const std::string bert = R"({"type":"BertNormalizer"})";
  // U+A9BD was a spacing mark in Unicode 8.0: not stripped as an accent.
  EXPECT_EQ(normalize(bert, "a\uA9BDb"), "a\uA9BDb");
  // U+1DF9 (Unicode 10.0) has no combining class for the crate: no reordering.
  EXPECT_EQ(normalize(R"({"type":"NFD"})", "a\u0301\u1DF9"), "a\u0301\u1DF9");
  EXPECT_EQ(normalize(R"({"type":"NFD"})", "a\u0301\u0316"), "a\u0316\u0301");
  // U+32FF SQUARE ERA NAME REIWA (12.1) has no compatibility mapping yet.
  EXPECT_EQ(normalize(R"({"type":"NFKC"})", "\u32FF\u337B"), "\u32FF平成");
  // Unicode 16.0 case pairs, which ICU 72 lacks.
  EXPECT_EQ(normalize(R"({"type":"Lowercase"})", "\uA7CB\U00010D50"), "\u0264\U00010D70");
}

}  // namespace
}  // namespace winnow::text

#include "text/pre_tokenizers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace winnow::text {
namespace {

std::vector<std::string> pieces(const std::string& spec_json, const std::string& text, bool at_origin = true) {
  auto pre = make_pre_tokenizer(nlohmann::json::parse(spec_json), "tokenizer.json");
  EXPECT_TRUE(pre.ok()) << pre.status().to_string();
  if (!pre.ok()) return {"<error>"};
  std::vector<Split> splits = {{text, at_origin}};
  (*pre)->pre_tokenize(splits);
  std::vector<std::string> out;
  for (const auto& s : splits) out.push_back(s.text);
  return out;
}

using Pieces = std::vector<std::string>;

std::string split_spec(const std::string& behavior, bool invert, const std::string& pattern) {
  return R"({"type":"Split","pattern":)" + pattern + R"(,"behavior":")" + behavior + R"(","invert":)" +
         (invert ? "true" : "false") + "}";
}

TEST(SplitPreTokenizerTest, EveryBehaviorWithAnInvertedRegex) {
  const std::string words = R"({"Regex":"\\w+|[^\\w\\s]+"})";
  const std::string text = "How are you doing?";
  EXPECT_EQ(pieces(split_spec("Removed", true, words), text), (Pieces{"How", "are", "you", "doing", "?"}));
  EXPECT_EQ(pieces(split_spec("Isolated", true, words), text),
            (Pieces{"How", " ", "are", " ", "you", " ", "doing", "?"}));
  EXPECT_EQ(pieces(split_spec("MergedWithPrevious", true, words), text),
            (Pieces{"How ", "are ", "you ", "doing", "?"}));
  EXPECT_EQ(pieces(split_spec("MergedWithNext", true, words), text),
            (Pieces{"How", " are", " you", " doing", "?"}));
  EXPECT_EQ(pieces(split_spec("Contiguous", true, words), text),
            (Pieces{"How", " ", "are", " ", "you", " ", "doing?"}));
}

TEST(SplitPreTokenizerTest, StringPatternsAndDelimiterRuns) {
  const std::string dash = R"({"String":"-"})";
  const std::string text = "the-final--countdown";
  EXPECT_EQ(pieces(split_spec("Removed", false, dash), text), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(split_spec("Isolated", false, dash), text),
            (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces(split_spec("MergedWithPrevious", false, dash), text),
            (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces(split_spec("MergedWithNext", false, dash), text),
            (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces(split_spec("Contiguous", false, dash), text), (Pieces{"the", "-", "final", "--", "countdown"}));
  // A String pattern is literal, not a regex.
  EXPECT_EQ(pieces(split_spec("Removed", false, R"({"String":"."})"), "a.b..c"), (Pieces{"a", "b", "c"}));
  // Inverted, the text between matches is the delimiter: the same as splitting on " ".
  EXPECT_EQ(pieces(split_spec("Removed", true, R"({"String":"Hello"})"), "Hello Hello Hello"),
            (Pieces{"Hello", "Hello", "Hello"}));
}

TEST(SplitPreTokenizerTest, MissingBehaviorAndBadRegexAreErrors) {
  auto missing = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"Split","pattern":{"String":" "}})"),
                                    "tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("field \"behavior\""), std::string::npos);
  auto bad = make_pre_tokenizer(nlohmann::json::parse(split_spec("Sideways", false, R"({"String":" "})")),
                                "tokenizer.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Sideways"), std::string::npos);
}

TEST(MetaspacePreTokenizerTest, PrependSchemesAndSplit) {
  const std::string always = R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})";
  EXPECT_EQ(pieces(always, "Hey friend!"), (Pieces{"▁Hey", "▁friend!"}));
  EXPECT_EQ(pieces(always, "a  b"), (Pieces{"▁a", "▁", "▁b"}));
  EXPECT_EQ(pieces(always, " x"), (Pieces{"▁x"}));
  EXPECT_EQ(pieces(always, "later", false), (Pieces{"▁later"}));
  const std::string first = R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true})";
  EXPECT_EQ(pieces(first, "Hey friend"), (Pieces{"▁Hey", "▁friend"}));
  EXPECT_EQ(pieces(first, "later on", false), (Pieces{"later", "▁on"}));
  const std::string never = R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true})";
  EXPECT_EQ(pieces(never, "Hey friend"), (Pieces{"Hey", "▁friend"}));
  const std::string no_split = R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":false})";
  EXPECT_EQ(pieces(no_split, "Hey friend"), (Pieces{"▁Hey▁friend"}));
  // Legacy field: add_prefix_space false means "never".
  const std::string legacy = R"({"type":"Metaspace","replacement":"▁","add_prefix_space":false})";
  EXPECT_EQ(pieces(legacy, "Hey friend"), (Pieces{"Hey", "▁friend"}));
  auto conflict = make_pre_tokenizer(
      nlohmann::json::parse(R"({"type":"Metaspace","replacement":"▁","add_prefix_space":false,"prepend_scheme":"always"})"),
      "tokenizer.json");
  EXPECT_FALSE(conflict.ok());
}

TEST(WhitespacePreTokenizerTest, WordsAndPunctuationRuns) {
  EXPECT_EQ(pieces(R"({"type":"Whitespace"})", "Hey man!! How's  it going?"),
            (Pieces{"Hey", "man", "!!", "How", "'", "s", "it", "going", "?"}));
  EXPECT_EQ(pieces(R"({"type":"Whitespace"})", "naïve café—ok"), (Pieces{"naïve", "café", "—", "ok"}));
  EXPECT_EQ(pieces(R"({"type":"WhitespaceSplit"})", "Hey man!! How's\u3000it"),
            (Pieces{"Hey", "man!!", "How's", "it"}));
}

TEST(BertPreTokenizerTest, WhitespaceRemovedPunctuationIsolated) {
  EXPECT_EQ(pieces(R"({"type":"BertPreTokenizer"})", "Hey friend!  How are you?!? $5,00"),
            (Pieces{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?", "$", "5", ",", "00"}));
  EXPECT_EQ(pieces(R"({"type":"BertPreTokenizer"})", "«quoted»—yes"), (Pieces{"«", "quoted", "»", "—", "yes"}));
}

TEST(PunctuationAndDigitsTest, Behaviors) {
  EXPECT_EQ(pieces(R"({"type":"Punctuation","behavior":"Isolated"})", "Hey friend!?"),
            (Pieces{"Hey friend", "!", "?"}));
  EXPECT_EQ(pieces(R"({"type":"Punctuation","behavior":"Contiguous"})", "Hey friend!?"),
            (Pieces{"Hey friend", "!?"}));
  EXPECT_EQ(pieces(R"({"type":"Digits","individual_digits":false})", "Call 123 please"),
            (Pieces{"Call ", "123", " please"}));
  EXPECT_EQ(pieces(R"({"type":"Digits","individual_digits":true})", "Call 123"), (Pieces{"Call ", "1", "2", "3"}));
}

TEST(SequencePreTokenizerTest, AppliesInOrder) {
  EXPECT_EQ(pieces(R"({"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},
                      {"type":"Digits","individual_digits":true}]})",
                   "ab12 c3"),
            (Pieces{"ab", "1", "2", "c", "3"}));
}

TEST(PreTokenizerFactoryTest, UnsupportedTypeIsNamed) {
  auto pre = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"UnicodeScripts"})"), "tokenizer.json");
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.status().message(), "tokenizer.json: pre_tokenizer type \"UnicodeScripts\" is not supported");
}

}  // namespace
}  // namespace winnow::text

namespace winnow::text {
namespace {

TEST(UnicodeVersionsTest, PunctuationAsUnicode8) {
  // U+11A9C SOYOMBO MARK DOUBLE HEAD MARK (Unicode 10.0) is no punctuation to the crate.
  EXPECT_EQ(pieces(R"({"type":"BertPreTokenizer"})", "a\U00011A9Cb a\u0F14b"),
            (Pieces{"a\U00011A9Cb", "a", "\u0F14", "b"}));
}

}  // namespace
}  // namespace winnow::text

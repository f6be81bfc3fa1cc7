#include "text/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "text/truncation.h"

namespace winnow::text {
namespace {

using Ids = std::vector<std::int32_t>;

// A small Unigram + Metaspace tokenizer:
// <unk>=0 ▁=1 ▁hello=2 ▁world=3 hello=4 world=5 <s>=6 </s>=7.
nlohmann::json unigram_tokenizer(const std::string& prepend_scheme = "always") {
  auto root = nlohmann::json::parse(R"({
    "version": "1.0",
    "added_tokens": [
      {"id":6,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
      {"id":7,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}
    ],
    "normalizer": null,
    "pre_tokenizer": {"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true},
    "post_processor": {"type":"TemplateProcessing",
      "single": [{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
                 {"SpecialToken":{"id":"</s>","type_id":0}}],
      "pair": [{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
               {"SpecialToken":{"id":"</s>","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}},
               {"Sequence":{"id":"B","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],
      "special_tokens": {"<s>":{"id":"<s>","ids":[6],"tokens":["<s>"]},
                         "</s>":{"id":"</s>","ids":[7],"tokens":["</s>"]}}},
    "model": {"type":"Unigram","unk_id":0,"byte_fallback":false,"vocab":[
      ["<unk>",0.0],["▁",-2.0],["▁hello",-1.0],["▁world",-1.0],["hello",-1.5],["world",-1.5],
      ["<s>",0.0],["</s>",0.0]]}
  })");
  root["pre_tokenizer"]["prepend_scheme"] = prepend_scheme;
  return root;
}

nlohmann::json added_token(const std::string& content, bool lstrip, bool rstrip, bool single_word,
                           bool normalized, bool special) {
  return {{"id", 0},           {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
          {"rstrip", rstrip}, {"normalized", normalized}, {"special", special}};
}

Tokenizer make(const nlohmann::json& root) {
  auto tokenizer = Tokenizer::from_json_text(root.dump());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  return std::move(tokenizer).value();
}

Ids content_ids(const Tokenizer& tokenizer, std::string_view text) {
  auto encoding = tokenizer.encode(text);
  EXPECT_TRUE(encoding.ok()) << encoding.status().to_string();
  if (!encoding.ok()) return {};
  // Drop the <s> ... </s> of the single template.
  return Ids(encoding->ids.begin() + 1, encoding->ids.end() - 1);
}

TEST(AddedTokensTest, LstripAbsorbsTheSpaceBefore) {
  auto with = unigram_tokenizer();
  with["added_tokens"].push_back(added_token("<mask>", true, false, false, false, true));
  auto without = unigram_tokenizer();
  without["added_tokens"].push_back(added_token("<mask>", false, false, false, false, true));
  Tokenizer t_with = make(with);
  Tokenizer t_without = make(without);
  // <mask> is not in the model: it gets the next id after the vocabulary.
  ASSERT_EQ(t_with.token_to_id("<mask>"), std::optional<std::int32_t>(8));
  EXPECT_EQ(content_ids(t_with, "hello <mask>"), (Ids{2, 8}));
  EXPECT_EQ(content_ids(t_without, "hello <mask>"), (Ids{2, 1, 8}));
  auto full = t_with.encode("hello <mask>");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->ids, (Ids{6, 2, 8, 7}));
}

TEST(AddedTokensTest, RstripAbsorbsTheSpaceAfter) {
  auto with = unigram_tokenizer("first");
  with["added_tokens"].push_back(added_token("<mask>", false, true, false, false, true));
  auto without = unigram_tokenizer("first");
  without["added_tokens"].push_back(added_token("<mask>", false, false, false, false, true));
  // With scheme "first" only the piece at the start of the input gets ▁ prepended.
  EXPECT_EQ(content_ids(make(with), "<mask> world"), (Ids{8, 5}));
  EXPECT_EQ(content_ids(make(without), "<mask> world"), (Ids{8, 3}));
}

TEST(AddedTokensTest, SingleWordOnlyMatchesWholeWords) {
  auto root = unigram_tokenizer();
  root["added_tokens"].push_back(added_token("hello", false, false, true, false, false));
  Tokenizer tokenizer = make(root);
  ASSERT_EQ(tokenizer.token_to_id("hello"), std::optional<std::int32_t>(4));  // the model's own id
  // "hellohello" is not a word on its own; the last "hello" is.
  EXPECT_EQ(content_ids(tokenizer, "hellohello hello"), (Ids{2, 4, 1, 4}));
}

TEST(AddedTokensTest, NormalizedTokensMatchAfterNormalization) {
  auto root = unigram_tokenizer();
  root["normalizer"] = {{"type", "Lowercase"}};
  root["added_tokens"].push_back(added_token("WORLD", false, false, false, true, false));
  Tokenizer tokenizer = make(root);
  auto world = tokenizer.token_to_id("WORLD");
  ASSERT_TRUE(world.has_value());
  EXPECT_EQ(content_ids(tokenizer, "Hello World"), (Ids{2, 1, *world}));
}

TEST(AddedTokensTest, SpecialTokensInTextAreSplitOut) {
  Tokenizer tokenizer = make(unigram_tokenizer());
  EXPECT_EQ(content_ids(tokenizer, "hello</s>world"), (Ids{2, 7, 3}));
  EXPECT_EQ(content_ids(tokenizer, "<s></s>"), (Ids{6, 7}));
}

TEST(PostProcessorTest, RobertaAndBertProcessing) {
  auto roberta = unigram_tokenizer();
  roberta["post_processor"] = nlohmann::json::parse(
      R"({"type":"RobertaProcessing","sep":["</s>",7],"cls":["<s>",6],"trim_offsets":true,"add_prefix_space":true})");
  Tokenizer r = make(roberta);
  EXPECT_EQ(r.special_tokens_count(false), 2u);
  EXPECT_EQ(r.special_tokens_count(true), 4u);
  auto pair = r.encode_pair("hello", "world", 64, Truncation::kLongestFirst);
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->ids, (Ids{6, 2, 7, 7, 3, 7}));
  EXPECT_EQ(pair->type_ids, (Ids{0, 0, 0, 0, 0, 0}));

  auto bert = unigram_tokenizer();
  bert["post_processor"] = nlohmann::json::parse(R"({"type":"BertProcessing","sep":["</s>",7],"cls":["<s>",6]})");
  Tokenizer b = make(bert);
  EXPECT_EQ(b.special_tokens_count(true), 3u);
  auto bp = b.encode_pair("hello", "world", 64, Truncation::kLongestFirst);
  ASSERT_TRUE(bp.ok());
  EXPECT_EQ(bp->ids, (Ids{6, 2, 7, 3, 7}));
  EXPECT_EQ(bp->type_ids, (Ids{0, 0, 0, 1, 1}));

  auto none = unigram_tokenizer();
  none["post_processor"] = nullptr;
  Tokenizer n = make(none);
  EXPECT_EQ(n.special_tokens_count(true), 0u);
  auto np = n.encode_pair("hello", "world", 64, Truncation::kLongestFirst);
  ASSERT_TRUE(np.ok());
  EXPECT_EQ(np->ids, (Ids{2, 3}));
  EXPECT_EQ(np->type_ids, (Ids{0, 1}));
}

TEST(TruncationTest, LongestFirstCutsTheLongerSide) {
  auto run = [](std::size_t na, std::size_t nb, std::size_t budget) {
    Ids a(na, 1), b(nb, 2);
    auto truncated = truncate_pair(a, b, budget, Truncation::kLongestFirst);
    EXPECT_TRUE(truncated.ok());
    return std::make_pair(a.size(), b.size());
  };
  EXPECT_EQ(run(10, 3, 8), std::make_pair(std::size_t{5}, std::size_t{3}));
  EXPECT_EQ(run(3, 10, 8), std::make_pair(std::size_t{3}, std::size_t{5}));
  EXPECT_EQ(run(6, 6, 7), std::make_pair(std::size_t{3}, std::size_t{4}));  // tie: the second gets the odd one
  EXPECT_EQ(run(7, 6, 7), std::make_pair(std::size_t{4}, std::size_t{3}));
  EXPECT_EQ(run(2, 2, 8), std::make_pair(std::size_t{2}, std::size_t{2}));
  EXPECT_EQ(run(9, 9, 0), std::make_pair(std::size_t{0}, std::size_t{0}));
}

TEST(TruncationTest, OnlySecondFailsWhenTheSecondIsTooShort) {
  Ids a(5, 1), b(3, 2);
  auto ok = truncate_pair(a, b, 6, Truncation::kOnlySecond);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(b.size(), 1u);
  Ids c(6, 1), d(2, 2);
  EXPECT_FALSE(truncate_pair(c, d, 6, Truncation::kOnlySecond).ok());
}

TEST(TokenizerTest, OnlySecondErrorSaysTheQueryFillsMaxLength) {
  Tokenizer tokenizer = make(unigram_tokenizer());
  auto r = tokenizer.encode_pair("hello hello hello hello", "world world", 6, Truncation::kOnlySecond);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(
                "query plus special tokens leave no room for the document within max_length 6"),
            std::string::npos)
      << r.status().message();
  auto fits = tokenizer.encode_pair("hello", "world world world", 7, Truncation::kOnlySecond);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->ids, (Ids{6, 2, 7, 7, 3, 3, 7}));
  EXPECT_TRUE(fits->truncated);
  EXPECT_FALSE(tokenizer.encode_pair("a", "b", 3, Truncation::kLongestFirst).ok());  // below the 4 specials
}

TEST(TokenizerTest, SingleTextTruncationKeepsTheSpecials) {
  Tokenizer tokenizer = make(unigram_tokenizer());
  auto r = tokenizer.encode("hello world hello", 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ids, (Ids{6, 2, 3, 7}));
  EXPECT_TRUE(r->truncated);
  auto whole = tokenizer.encode("hello world", 4);
  ASSERT_TRUE(whole.ok());
  EXPECT_FALSE(whole->truncated);
  EXPECT_FALSE(tokenizer.encode("hello", 1).ok());
}

TEST(TokenizerTest, AccessorsFollowTheFiles) {
  auto root = unigram_tokenizer();
  root["added_tokens"].push_back(added_token("<pad>", false, false, false, false, true));
  auto tokenizer = Tokenizer::from_json_text(root.dump(), R"({"model_max_length": 1000000000000000019884624838656})");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  EXPECT_FALSE(tokenizer->model_max_length().has_value());
  EXPECT_EQ(tokenizer->pad_token_id(), 8);
  EXPECT_EQ(tokenizer->vocab_size(), 9u);
  EXPECT_EQ(tokenizer->token_to_id("▁world"), std::optional<std::int32_t>(3));
  EXPECT_FALSE(tokenizer->token_to_id("nope").has_value());
  auto limited = Tokenizer::from_json_text(root.dump(), R"({"model_max_length": 512, "pad_token": "</s>"})");
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->model_max_length(), std::optional<std::size_t>(512));
  EXPECT_EQ(limited->pad_token_id(), 7);
}

TEST(TokenizerLoadTest, MalformedJsonNamesFileAndLine) {
  auto r = Tokenizer::from_json_text("{\n  \"version\": \"1.0\",\n  \"model\": }\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tokenizer.json: invalid JSON at line 3"), std::string::npos)
      << r.status().message();

  auto dir = std::filesystem::temp_directory_path() / ("winnow_text_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(base::write_file_durably(dir / "tokenizer.json", "{\n\"model\": [1,,2]\n}").ok());
  auto loaded = Tokenizer::load_dir(dir);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find((dir / "tokenizer.json").string() + ": invalid JSON at line 2"),
            std::string::npos)
      << loaded.status().message();
  std::filesystem::remove_all(dir);

  auto missing = Tokenizer::load_dir("/nonexistent/winnow/model");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
}

TEST(TokenizerLoadTest, UnsupportedComponentIsNamed) {
  auto root = unigram_tokenizer();
  root["normalizer"] = {{"type", "Nmt"}};
  auto r = Tokenizer::from_json_text(root.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tokenizer.json: normalizer type \"Nmt\" is not supported");
  auto post = unigram_tokenizer();
  post["post_processor"] = {{"type", "Fancy"}};
  auto p = Tokenizer::from_json_text(post.dump());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "tokenizer.json: post_processor type \"Fancy\" is not supported");
  auto missing_special = unigram_tokenizer();
  missing_special["post_processor"]["special_tokens"].erase("</s>");
  auto m = Tokenizer::from_json_text(missing_special.dump());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("\"</s>\" is missing"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace winnow::text

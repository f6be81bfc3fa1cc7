// Byte-level BPE (Qwen2/Qwen3, ModernBERT): the BPE model's merge order and
// options, the ByteLevel pre-tokenizer, the Qwen2 Split pattern, and the
// load-time refusals. Expected values follow the tokenizers crate 0.22 (its
// own unit tests where it has them); tests/text/golden_test.cc holds the
// file-level goldens.
#include "text/bpe.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "text/byte_level.h"
#include "text/pre_tokenizers.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace winnow::text {
namespace {

using Ids = std::vector<std::int32_t>;
using Pieces = std::vector<std::string>;

const std::string kDataDir = std::string(WINNOW_TEST_DATA) + "/tokenizers/";

// a=0 b=1 c=2 ab=3 bc=4 abc=5 aa=6 x=7
nlohmann::json bpe_spec(const std::string& merges_json) {
  auto spec = nlohmann::json::parse(R"({"type":"BPE","dropout":null,"unk_token":null,
      "continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,
      "ignore_merges":false,"vocab":{"a":0,"b":1,"c":2,"ab":3,"bc":4,"abc":5,"aa":6,"x":7}})");
  spec["merges"] = nlohmann::json::parse(merges_json);
  return spec;
}

std::unique_ptr<SubwordModel> model(const nlohmann::json& spec) {
  auto made = make_subword_model(spec, "tokenizer.json");
  EXPECT_TRUE(made.ok()) << made.status().to_string();
  return made.ok() ? std::move(made).value() : nullptr;
}

Ids tokenize(const SubwordModel& m, std::string_view word) {
  Ids ids;
  auto status = m.tokenize(word, ids);
  EXPECT_TRUE(status.ok()) << status.to_string();
  return ids;
}

TEST(BpeTest, LowestRankMergesFirstThenLeftmost) {
  auto m = model(bpe_spec(R"(["b c", "a b", "a bc", "a a"])"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(tokenize(*m, "abc"), (Ids{5}));         // b+c (rank 0), then a+bc
  EXPECT_EQ(tokenize(*m, "abab"), (Ids{3, 3}));     // both a+b
  EXPECT_EQ(tokenize(*m, "aaa"), (Ids{6, 0}));      // leftmost pair first
  EXPECT_EQ(tokenize(*m, "cba"), (Ids{2, 1, 0}));   // no merge applies
  // Pair form of merges, the crate's current format, means the same.
  auto pairs = model(bpe_spec(R"([["b","c"], ["a","b"], ["a","bc"], ["a","a"]])"));
  ASSERT_NE(pairs, nullptr);
  EXPECT_EQ(tokenize(*pairs, "abc"), (Ids{5}));
  EXPECT_EQ(m->vocab_size(), 8u);
  EXPECT_EQ(m->token_to_id("bc"), std::optional<std::int32_t>(4));
}

TEST(BpeTest, ADuplicatedMergeKeepsItsLastRank) {
  // "a b" is listed before and after "b c": its rank is the later one, so
  // b+c wins on "abc".
  auto m = model(bpe_spec(R"(["a b", "b c", "a b"])"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(tokenize(*m, "abc"), (Ids{0, 4}));
  auto once = model(bpe_spec(R"(["a b", "b c"])"));
  EXPECT_EQ(tokenize(*once, "abc"), (Ids{3, 2}));
}

TEST(BpeTest, UnknownCharactersAreDroppedUnkOrFused) {
  // Without an unk token the character disappears and its neighbours merge.
  auto plain = model(bpe_spec(R"(["a b"])"));
  EXPECT_EQ(tokenize(*plain, "azb"), (Ids{3}));
  auto spec = bpe_spec(R"(["a b"])");
  spec["vocab"]["<unk>"] = 8;
  spec["unk_token"] = "<unk>";
  auto unk = model(spec);
  EXPECT_EQ(tokenize(*unk, "azzb"), (Ids{0, 8, 8, 1}));
  EXPECT_EQ(tokenize(*unk, "zé"), (Ids{8, 8}));
  spec["fuse_unk"] = true;
  auto fused = model(spec);
  EXPECT_EQ(tokenize(*fused, "azzb"), (Ids{0, 8, 1}));
  EXPECT_EQ(tokenize(*fused, "zézx"), (Ids{8, 7}));
}

TEST(BpeTest, ByteFallbackSpellsUnknownCharactersAsBytes) {
  auto spec = bpe_spec(R"(["a b"])");
  spec["vocab"]["<unk>"] = 8;
  spec["vocab"]["<0xC3>"] = 9;
  spec["vocab"]["<0xA9>"] = 10;
  spec["unk_token"] = "<unk>";
  spec["byte_fallback"] = true;
  auto m = model(spec);
  EXPECT_EQ(tokenize(*m, "aéb"), (Ids{0, 9, 10, 1}));  // é is C3 A9
  // "ü" is C3 BC: <0xBC> is missing, so it is the unk token.
  EXPECT_EQ(tokenize(*m, "aüb"), (Ids{0, 8, 1}));
  // The crate adds a pending unk only before the next known character, so
  // bytes spelled in between come first.
  EXPECT_EQ(tokenize(*m, "üéa"), (Ids{9, 10, 8, 0}));
}

TEST(BpeTest, PrefixAndSuffixDecorateTheSymbols) {
  auto prefix = nlohmann::json::parse(R"({"type":"BPE","continuing_subword_prefix":"##",
      "vocab":{"a":0,"##b":1,"ab":2,"##c":3,"abc":4,"b":5},"merges":[["a","##b"],["ab","##c"]]})");
  auto m = model(prefix);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(tokenize(*m, "abc"), (Ids{4}));
  EXPECT_EQ(tokenize(*m, "b"), (Ids{5}));     // the first symbol has no prefix
  EXPECT_EQ(tokenize(*m, "bb"), (Ids{5, 1}));
  auto suffix = nlohmann::json::parse(R"({"type":"BPE","end_of_word_suffix":"</w>",
      "vocab":{"a":0,"b":1,"b</w>":2,"ab</w>":3,"ab":4},"merges":["a b</w>","a b"]})");
  auto s = model(suffix);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(tokenize(*s, "ab"), (Ids{3}));
  EXPECT_EQ(tokenize(*s, "abb"), (Ids{4, 2}));
}

TEST(BpeTest, IgnoreMergesTakesAWholeWordFromTheVocabulary) {
  auto spec = bpe_spec(R"(["b c"])");
  EXPECT_EQ(tokenize(*model(spec), "abc"), (Ids{0, 4}));
  spec["ignore_merges"] = true;
  EXPECT_EQ(tokenize(*model(spec), "abc"), (Ids{5}));
  EXPECT_EQ(tokenize(*model(spec), "abcc"), (Ids{0, 4, 2}));
}

TEST(BpeTest, DropoutZeroIsDeterministicAndAccepted) {
  auto spec = bpe_spec(R"(["a b"])");
  spec["dropout"] = 0.0;
  auto m = model(spec);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(tokenize(*m, "ab"), (Ids{3}));
}

TEST(BpeTest, AMissingUnkTokenFailsWhenNeeded) {
  auto spec = bpe_spec(R"(["a b"])");
  spec["unk_token"] = "<unk>";  // not in the vocabulary
  auto m = model(spec);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(tokenize(*m, "ab"), (Ids{3}));  // not needed: fine, as in the crate
  Ids ids;
  auto status = m->tokenize("az", ids);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "BPE: unknown token \"<unk>\" is not in the vocabulary");
}

std::string error_of(const nlohmann::json& spec) {
  auto made = make_subword_model(spec, "tokenizer.json");
  return made.ok() ? "<loaded>" : made.status().message();
}

TEST(BpeTest, BadFilesAreRefusedWithTheFieldNamed) {
  auto dropout = bpe_spec("[]");
  dropout["dropout"] = 0.1;
  EXPECT_EQ(error_of(dropout),
            "tokenizer.json: model \"BPE\": field \"dropout\" is 0.1: BPE dropout skips merges at random, so the "
            "same text would get different token ids from call to call; Winnow needs it null or 0");
  dropout["dropout"] = 1.5;
  EXPECT_EQ(error_of(dropout), "tokenizer.json: model \"BPE\": field \"dropout\" must be between 0 and 1");
  dropout["dropout"] = "0.1";
  EXPECT_EQ(error_of(dropout), "tokenizer.json: model \"BPE\": field \"dropout\" must be a number or null");

  EXPECT_EQ(error_of(bpe_spec(R"(["a b", "a q"])")),
            "tokenizer.json: model \"BPE\": merges[1] (\"a\", \"q\") names token \"q\", which is not in the vocab");
  EXPECT_EQ(error_of(bpe_spec(R"([["zz", "a"]])")),
            "tokenizer.json: model \"BPE\": merges[0] (\"zz\", \"a\") names token \"zz\", which is not in the vocab");
  EXPECT_EQ(error_of(bpe_spec(R"(["c a"])")),
            "tokenizer.json: model \"BPE\": merges[0] (\"c\", \"a\") makes \"ca\", which is not in the vocab");
  EXPECT_EQ(error_of(bpe_spec(R"(["a b c"])")),
            "tokenizer.json: model \"BPE\": field \"merges\" entry 0 (\"a b c\") must be two tokens separated by "
            "one space");
  EXPECT_EQ(error_of(bpe_spec(R"([["a"]])")),
            "tokenizer.json: model \"BPE\": field \"merges\" entry 0 must be a \"a b\" string or a [\"a\", \"b\"] pair");
  auto no_merges = bpe_spec("[]");
  no_merges.erase("merges");
  EXPECT_NE(error_of(no_merges).find("field \"merges\" must be an array"), std::string::npos);
  auto bad_vocab = bpe_spec("[]");
  bad_vocab["vocab"]["neg"] = -1;
  EXPECT_EQ(error_of(bad_vocab),
            "tokenizer.json: model \"BPE\": field \"vocab\" has a non-integer or out-of-range id for token \"neg\"");
  auto bad_unk = bpe_spec("[]");
  bad_unk["unk_token"] = 3;
  EXPECT_EQ(error_of(bad_unk), "tokenizer.json: model \"BPE\": field \"unk_token\" must be a string or null");
  // The merged token drops the right side's prefix, which it must have.
  auto short_prefix = nlohmann::json::parse(
      R"({"type":"BPE","continuing_subword_prefix":"##","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]})");
  EXPECT_EQ(error_of(short_prefix), "tokenizer.json: model \"BPE\": merges[0]: token \"b\" does not start with a "
                                    "whole continuing_subword_prefix");
  // "#version" lines of merges.txt are skipped, as the crate does.
  EXPECT_EQ(error_of(bpe_spec(R"(["#version: 0.2", "a b"])")), "<loaded>");
}

TEST(BpeTest, ManyThreadsShareTheWordCache) {
  auto tokenizer = Tokenizer::load_dir(kDataDir + "bpe-qwen");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  std::vector<std::string> texts;
  std::ifstream in(kDataDir + "bpe-qwen/tokens.jsonl");
  std::vector<Ids> expected;
  for (std::string line; std::getline(in, line);) {
    auto record = nlohmann::json::parse(line);
    texts.push_back(record["text"].get<std::string>());
    expected.push_back(record["ids"].get<Ids>());
  }
  ASSERT_GT(texts.size(), 200u);
  std::vector<std::size_t> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < texts.size(); ++i) {
          std::size_t k = (i * 7 + t * 31 + static_cast<std::size_t>(round)) % texts.size();
          auto r = tokenizer->encode(texts[k]);
          if (!r.ok() || r->ids != expected[k]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < mismatches.size(); ++t) EXPECT_EQ(mismatches[t], 0u) << "thread " << t;
}

std::vector<std::string> pieces(const std::string& spec_json, const std::string& text) {
  auto pre = make_pre_tokenizer(nlohmann::json::parse(spec_json), "tokenizer.json");
  EXPECT_TRUE(pre.ok()) << pre.status().to_string();
  if (!pre.ok()) return {"<error>"};
  std::vector<Split> splits = {{text, true}};
  (*pre)->pre_tokenize(splits);
  std::vector<std::string> out;
  for (const auto& s : splits) out.push_back(s.text);
  return out;
}

TEST(ByteLevelTest, EveryByteHasItsGpt2Character) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  std::string spelled;
  append_byte_level(spelled, all_bytes);
  // Decode the 256 characters back.
  std::vector<char32_t> chars;
  for (std::size_t i = 0; i < spelled.size();) chars.push_back(unicode::decode(spelled, i));
  ASSERT_EQ(chars.size(), 256u);
  EXPECT_EQ(chars[0x00], U'\u0100');  // Ā
  EXPECT_EQ(chars[0x0A], U'\u010A');  // Ċ
  EXPECT_EQ(chars[0x20], U'\u0120');  // Ġ
  EXPECT_EQ(chars[0x21], U'!');
  EXPECT_EQ(chars[0x7E], U'~');
  EXPECT_EQ(chars[0x7F], U'\u0121');
  EXPECT_EQ(chars[0xA0], U'\u0142');
  EXPECT_EQ(chars[0xA1], U'\u00A1');
  EXPECT_EQ(chars[0xAD], U'\u0143');
  EXPECT_EQ(chars[0xFF], U'\u00FF');
  std::vector<char32_t> sorted = chars;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());  // a bijection
}

TEST(ByteLevelTest, Gpt2RegexSplitsAndSpellsBytes) {
  const std::string no_prefix = R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true})";
  EXPECT_EQ(pieces(no_prefix, "Hello my friend, how is your day going?"),
            (Pieces{"Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "Ġis", "Ġyour", "Ġday", "Ġgoing", "?"}));
  EXPECT_EQ(pieces(no_prefix, "Hello there\nHello there"), (Pieces{"Hello", "Ġthere", "Ċ", "Hello", "Ġthere"}));
  EXPECT_EQ(pieces(no_prefix, "Hello there       dear"), (Pieces{"Hello", "Ġthere", "ĠĠĠĠĠĠ", "Ġdear"}));
  EXPECT_EQ(pieces(no_prefix, "i⭢j"), (Pieces{"i", "âŃ¢", "j"}));
  EXPECT_EQ(pieces(no_prefix, "I'm 42"), (Pieces{"I", "'m", "Ġ42"}));
  // add_prefix_space (the default) prepends one space unless there is one.
  const std::string prefix = R"({"type":"ByteLevel"})";
  EXPECT_EQ(pieces(prefix, "Hello my"), (Pieces{"ĠHello", "Ġmy"}));
  EXPECT_EQ(pieces(prefix, " Hello my"), (Pieces{"ĠHello", "Ġmy"}));
  // Without the regex the whole piece is one word.
  EXPECT_EQ(pieces(R"({"type":"ByteLevel","use_regex":false})", "Hello my friend,"),
            (Pieces{"ĠHelloĠmyĠfriend,"}));
}

TEST(ByteLevelTest, Qwen2SplitPattern) {
  // Qwen2/Qwen3's pre-tokenizer: the Split below, then ByteLevel without its regex.
  const std::string qwen = R"({"type":"Sequence","pretokenizers":[
      {"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
       "behavior":"Isolated","invert":false},
      {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]})";
  // Contractions in any case; each digit alone; a punctuation run keeps its newlines.
  EXPECT_EQ(pieces(qwen, "I'M sure it'S 2024!\n\nOK"),
            (Pieces{"I", "'M", "Ġsure", "Ġit", "'S", "Ġ", "2", "0", "2", "4", "!ĊĊ", "OK"}));
  // A letter run takes one non-letter in front; spaces before a word stay apart but one.
  EXPECT_EQ(pieces(qwen, "a   b\tc"), (Pieces{"a", "ĠĠ", "Ġb", "ĉc"}));
  EXPECT_EQ(pieces(qwen, "x \r\n y"), (Pieces{"x", "ĠčĊ", "Ġy"}));
}

TEST(ByteLevelTest, BadSpecsAreRefused) {
  auto bad_bool = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"ByteLevel","add_prefix_space":"yes"})"),
                                     "tokenizer.json");
  ASSERT_FALSE(bad_bool.ok());
  EXPECT_EQ(bad_bool.status().message(),
            "tokenizer.json: pre_tokenizer \"ByteLevel\": field \"add_prefix_space\" must be a boolean");
}

// The golden files' tokenizer.json with one part replaced: refused when loaded,
// with the part named.
std::string load_error(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
  auto text = base::read_file(kDataDir + name + "/tokenizer.json");
  EXPECT_TRUE(text.ok());
  auto root = nlohmann::json::parse(*text);
  edit(root);
  auto tokenizer = Tokenizer::from_json_text(root.dump());
  return tokenizer.ok() ? "<loaded>" : tokenizer.status().message();
}

TEST(BpeTokenizerLoadTest, UnsupportedOptionsAreNamedAtLoad) {
  EXPECT_EQ(load_error("bpe-qwen", [](nlohmann::json&) {}), "<loaded>");
  EXPECT_NE(load_error("bpe-qwen", [](nlohmann::json& r) { r["model"]["dropout"] = 0.25; })
                .find("model \"BPE\": field \"dropout\" is 0.25: BPE dropout skips merges at random"),
            std::string::npos);
  EXPECT_EQ(load_error("bpe-qwen",
                       [](nlohmann::json& r) { r["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Splice"; }),
            "tokenizer.json: pre_tokenizer \"Split\": unknown split behavior \"Splice\" (expected Removed, Isolated, "
            "MergedWithPrevious, MergedWithNext or Contiguous)");
  EXPECT_EQ(load_error("bpe-modernbert", [](nlohmann::json& r) { r["model"]["merges"].push_back({"Ġ", "ZZZ"}); }),
            "tokenizer.json: model \"BPE\": merges[2644] (\"Ġ\", \"ZZZ\") names token \"ZZZ\", which is not in the "
            "vocab");
  EXPECT_EQ(load_error("bpe-qwen", [](nlohmann::json& r) { r["model"]["merges"][0] = "á ĥ x"; }),
            "tokenizer.json: model \"BPE\": field \"merges\" entry 0 (\"á ĥ x\") must be two tokens separated by one "
            "space");
  auto regex = load_error("bpe-qwen", [](nlohmann::json& r) {
    r["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?i:'s|'t|\\p{Nope}";
  });
  EXPECT_EQ(regex.rfind("tokenizer.json: pre_tokenizer \"Split\": regex \"(?i:'s|'t|\\p{Nope}\" does not compile: ",
                        0),
            0u)
      << regex;
  EXPECT_EQ(load_error("bpe-modernbert", [](nlohmann::json& r) { r["pre_tokenizer"]["use_regex"] = 1; }),
            "tokenizer.json: pre_tokenizer \"ByteLevel\": field \"use_regex\" must be a boolean");
  EXPECT_EQ(load_error("bpe-qwen", [](nlohmann::json& r) { r["pre_tokenizer"]["pretokenizers"][1]["type"] = "ByteLevelX"; }),
            "tokenizer.json: pre_tokenizer type \"ByteLevelX\" is not supported");
}

TEST(BpeTokenizerTest, TheFilesDeclareTheirSpecialTokens) {
  auto qwen = Tokenizer::load_dir(kDataDir + "bpe-qwen");
  ASSERT_TRUE(qwen.ok()) << qwen.status().to_string();
  EXPECT_EQ(qwen->special_tokens_count(false), 0u);  // ByteLevel processor: no template
  EXPECT_EQ(qwen->special_tokens_count(true), 0u);
  EXPECT_EQ(qwen->pad_token_id(), 3001);  // tokenizer_config's pad_token <|endoftext|>
  EXPECT_EQ(qwen->model_max_length(), std::optional<std::size_t>(131072));
  EXPECT_EQ(qwen->token_to_id("yes"), std::optional<std::int32_t>(3000));
  EXPECT_EQ(qwen->token_to_id("no"), std::optional<std::int32_t>(810));
  EXPECT_EQ(qwen->token_to_id("</think>"), std::optional<std::int32_t>(3005));
  EXPECT_EQ(qwen->vocab_size(), 3006u);
  // Added tokens are cut out of the text, special or not.
  auto chat = qwen->encode("<|im_start|>user\n<think>\n\n</think>yes<|im_end|>");
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->ids.front(), 3002);
  EXPECT_EQ(chat->ids.back(), 3003);
  EXPECT_NE(std::find(chat->ids.begin(), chat->ids.end(), 3004), chat->ids.end());
  EXPECT_NE(std::find(chat->ids.begin(), chat->ids.end(), 3005), chat->ids.end());
  auto empty = qwen->encode_pair("", "", 8, Truncation::kLongestFirst);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->ids.empty());

  auto modernbert = Tokenizer::load_dir(kDataDir + "bpe-modernbert");
  ASSERT_TRUE(modernbert.ok()) << modernbert.status().to_string();
  EXPECT_EQ(modernbert->special_tokens_count(false), 2u);
  EXPECT_EQ(modernbert->special_tokens_count(true), 3u);
  EXPECT_EQ(modernbert->pad_token_id(), 2903);
  auto pair = modernbert->encode_pair("", "", 8, Truncation::kOnlySecond);
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->ids, (Ids{2901, 2902, 2902}));
  EXPECT_EQ(pair->type_ids, (Ids{0, 0, 1}));
  // [MASK] is lstrip: it takes the space before it.
  auto masked = modernbert->encode("a [MASK]");
  auto bare = modernbert->encode("a[MASK]");
  ASSERT_TRUE(masked.ok() && bare.ok());
  EXPECT_EQ(masked->ids, bare->ids);
  EXPECT_EQ(masked->ids[masked->ids.size() - 2], 2904);
}

}  // namespace
}  // namespace winnow::text

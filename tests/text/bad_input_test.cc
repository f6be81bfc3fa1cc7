// Inputs a server receives from strangers: invalid UTF-8, NUL bytes, empty
// strings and very long texts.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <random>
#include <string>

#include "base/stopwatch.h"
#include "text/tokenizer.h"

namespace winnow::text {
namespace {

using Ids = std::vector<std::int32_t>;

const Tokenizer& tokenizer(const std::string& name) {
  static const Tokenizer bert =
      Tokenizer::load_dir(std::string(WINNOW_TEST_DATA) + "/tokenizers/bert-uncased").value();
  static const Tokenizer xlmr =
      Tokenizer::load_dir(std::string(WINNOW_TEST_DATA) + "/tokenizers/xlmr-unigram").value();
  static const Tokenizer qwen = Tokenizer::load_dir(std::string(WINNOW_TEST_DATA) + "/tokenizers/bpe-qwen").value();
  static const Tokenizer modernbert =
      Tokenizer::load_dir(std::string(WINNOW_TEST_DATA) + "/tokenizers/bpe-modernbert").value();
  if (name == "qwen") return qwen;
  if (name == "modernbert") return modernbert;
  return name == "bert" ? bert : xlmr;
}

// Every test tokenizer: WordPiece, Unigram and the two byte-level BPEs.
const char* const kAll[] = {"bert", "xlmr", "qwen", "modernbert"};

TEST(BadInputTest, InvalidUtf8IsRejectedWithItsOffset) {
  struct Case {
    std::string text;
    std::size_t offset;
  };
  const Case cases[] = {
      {"abc\xFF", 3},
      {"ok \xC0\x80", 3},                     // overlong NUL
      {"\xED\xA0\x80 surrogate", 0},          // UTF-16 surrogate
      {"caf\xC3", 3},                         // truncated sequence
      {"\xF4\x90\x80\x80", 0},                // above U+10FFFF
      {"0123456789abcdefg\x80", 17},
  };
  for (const auto& c : cases) {
    for (const char* name : kAll) {
      auto r = tokenizer(name).encode(c.text);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), base::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message(), "invalid UTF-8 at byte " + std::to_string(c.offset));
    }
  }
  auto pair = tokenizer("bert").encode_pair("fine", "bad \xFE", 64, Truncation::kLongestFirst);
  ASSERT_FALSE(pair.ok());
  EXPECT_NE(pair.status().message().find("invalid UTF-8 at byte 4"), std::string::npos);
}

TEST(BadInputTest, NulBytesAndControlsAreTokenizedLikeTheCrate) {
  // BERT's clean_text drops NUL and control characters.
  auto with_nul = tokenizer("bert").encode(std::string("hello\0 wor\x07ld\x1b", 14));
  auto plain = tokenizer("bert").encode("hello world");
  ASSERT_TRUE(with_nul.ok());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(with_nul->ids, plain->ids);
  auto only_nul = tokenizer("xlmr").encode(std::string("\0\0", 2));
  ASSERT_TRUE(only_nul.ok()) << only_nul.status().to_string();
  EXPECT_EQ(only_nul->ids.front(), 0);
  EXPECT_EQ(only_nul->ids.back(), 2);
  // Byte-level BPE spells every byte, NUL and controls included: "\0" is Ā, ESC is ě.
  auto bytes = tokenizer("qwen").encode(std::string("\0\x1b", 2));
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(bytes->ids, (Ids{*tokenizer("qwen").token_to_id("\u0100"), *tokenizer("qwen").token_to_id("\u011b")}));
}

TEST(BadInputTest, EmptyStrings) {
  auto bert = tokenizer("bert").encode("");
  ASSERT_TRUE(bert.ok());
  EXPECT_EQ(bert->ids, (Ids{101, 102}));
  auto xlmr = tokenizer("xlmr").encode("   ");
  ASSERT_TRUE(xlmr.ok());
  EXPECT_EQ(xlmr->ids, (Ids{0, 2}));
  auto pair = tokenizer("bert").encode_pair("", "", 16, Truncation::kOnlySecond);
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->ids, (Ids{101, 102, 102}));
  EXPECT_EQ(pair->type_ids, (Ids{0, 0, 1}));
  auto xpair = tokenizer("xlmr").encode_pair("", "", 16, Truncation::kLongestFirst);
  ASSERT_TRUE(xpair.ok());
  EXPECT_EQ(xpair->ids, (Ids{0, 2, 2, 2}));
  auto qwen = tokenizer("qwen").encode("");
  ASSERT_TRUE(qwen.ok());
  EXPECT_TRUE(qwen->ids.empty());  // Qwen's files add no special tokens
  auto modernbert = tokenizer("modernbert").encode_pair("", "", 16, Truncation::kLongestFirst);
  ASSERT_TRUE(modernbert.ok());
  EXPECT_EQ(modernbert->ids, (Ids{2901, 2902, 2902}));
}

// Random code points from every plane (no surrogates), mixed with spaces,
// marks, controls and special-token text: nothing may crash or fail.
TEST(BadInputTest, RandomTextNeverFails) {
  std::mt19937 rng(12345);
  const char32_t interesting[] = {0x0,    0x7,    0x9,    0xA,    0xD,    0x20,   0x85,   0xA0,   0xAD,
                                  0x300,  0x301,  0x302,  0x200B, 0x200D, 0x2028, 0x3000, 0xFEFF, 0xFFFD,
                                  0x1F1E6, 0x1F3FD, 0xE000, 0xFE0F, 0x20E3, 0x0E33, 0x094D, 0x1100, 0x1161};
  const char* fragments[] = {"<mask>", "[MASK]", "<s>", "</s>", "[SEP]", " <mask> ", "  ", "\r\n"};
  auto append = [](std::string& out, char32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  for (int round = 0; round < 300; ++round) {
    std::string text;
    int length = static_cast<int>(rng() % 60);
    for (int k = 0; k < length; ++k) {
      switch (rng() % 5) {
        case 0: append(text, interesting[rng() % std::size(interesting)]); break;
        case 1: text += fragments[rng() % std::size(fragments)]; break;
        case 2: append(text, static_cast<char32_t>(0x20 + rng() % 0x5F)); break;
        default: {
          char32_t cp = static_cast<char32_t>(rng() % 0x30000);
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE9;
          append(text, cp);
        }
      }
    }
    for (const char* name : kAll) {
      auto single = tokenizer(name).encode(text);
      ASSERT_TRUE(single.ok()) << single.status().to_string();
      auto pair = tokenizer(name).encode_pair(text, text + text, 24, Truncation::kLongestFirst);
      ASSERT_TRUE(pair.ok()) << pair.status().to_string();
      EXPECT_LE(pair->ids.size(), 24u);
      EXPECT_EQ(pair->ids.size(), pair->type_ids.size());
    }
  }
}

std::string long_text(bool spaces) {
  const std::string sentence = spaces ? "The quick brown fox jumps over the lazy dog; Zürich, naïve café. "
                                      : "Thequickbrownfoxjumpsoverthelazydog;Zürich,naïvecafé.";
  std::string text;
  while (text.size() < 100000) text += sentence;
  return text;
}

TEST(BadInputTest, HundredThousandCharactersAreFast) {
  for (const char* name : kAll) {
    ASSERT_TRUE(tokenizer(name).encode("warm up").ok());  // loading is not timed
    for (bool spaces : {true, false}) {
      std::string text = long_text(spaces);
      base::Stopwatch watch;
      auto r = tokenizer(name).encode(text);
      double ms = watch.elapsed_ms();
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      EXPECT_GT(r->ids.size(), 2u);
      std::cout << "[ timing ] " << name << (spaces ? " with spaces: " : " without spaces: ") << text.size()
                << " bytes -> " << r->ids.size() << " ids in " << ms << " ms\n";
      EXPECT_LT(ms, 5000.0);  // generous: sanitizer builds included
      // Truncated pairs of the same size are just as bounded.
      base::Stopwatch pair_watch;
      auto pair = tokenizer(name).encode_pair("what is the quick fox?", text, 512, Truncation::kOnlySecond);
      ASSERT_TRUE(pair.ok());
      EXPECT_EQ(pair->ids.size(), 512u);
      EXPECT_LT(pair_watch.elapsed_ms(), 5000.0);
    }
  }
}

TEST(BadInputTest, HundredDocumentsOfHundredWords) {
  std::vector<std::string> docs;
  const char* words[] = {"retrieval", "pipeline", "ranks", "documents", "by", "relevance", "to", "the",
                         "query", "über", "schnell", "données", "rapide", "模型", "系统"};
  for (int d = 0; d < 100; ++d) {
    std::string doc;
    for (int w = 0; w < 100; ++w) {
      doc += words[(d * 7 + w * 3) % 15];
      doc += (w % 11 == 10) ? ". " : " ";
    }
    docs.push_back(doc);
  }
  for (const char* name : kAll) {
    ASSERT_TRUE(tokenizer(name).encode("warm up").ok());  // loading is not timed
    base::Stopwatch watch;
    std::size_t ids = 0;
    for (const auto& doc : docs) {
      auto r = tokenizer(name).encode_pair("how does the pipeline rank documents?", doc, 512,
                                           Truncation::kLongestFirst);
      ASSERT_TRUE(r.ok());
      ids += r->ids.size();
    }
    double ms = watch.elapsed_ms();
    std::cout << "[ timing ] " << name << ": 100 pairs of 100-word documents -> " << ids << " ids in " << ms
              << " ms\n";
    EXPECT_LT(ms, 5000.0);
  }
}

}  // namespace
}  // namespace winnow::text

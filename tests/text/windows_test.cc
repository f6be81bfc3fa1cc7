// Windows over long texts (chunked scoring): every window is a span of the
// text that fits max_tokens, the windows cover the text in order, overlap
// and the limits are honoured, and either end can be the one kept.
#include "text/windows.h"

#include <gtest/gtest.h>

#include <string>

#include "text/tokenizer.h"

namespace winnow::text {
namespace {

Tokenizer bert() {
  auto tokenizer = Tokenizer::load_dir(std::filesystem::path(WINNOW_TEST_DATA) / "tokenizers" / "bert-uncased");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  return std::move(*tokenizer);
}

// "w0 w1 w2 ...": numbered words (several tokens each in WordPiece).
std::string words(std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) text += (i ? " alpha" : "alpha") + std::to_string(i);
  return text;
}

std::size_t tokens_of(const Tokenizer& tokenizer, std::string_view text) {
  auto ids = tokenizer.tokenize(text);
  EXPECT_TRUE(ids.ok());
  return ids.ok() ? ids->size() : 0;
}

TEST(Windows, ShortTextIsOneWindowOfTheWholeText) {
  const Tokenizer tokenizer = bert();
  const std::string text = "  a short text.  ";
  auto plan = plan_windows(tokenizer, text, {.max_tokens = 10, .overlap = 2, .max_windows = 3});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_EQ(plan->windows.size(), 1u);
  EXPECT_EQ(plan->windows[0].begin, 0u);
  EXPECT_EQ(plan->windows[0].end, text.size());
  EXPECT_FALSE(plan->cut);
  EXPECT_EQ(plan->tokens, tokens_of(tokenizer, text));
}

TEST(Windows, CoverTheTextInOrderAndEachFits) {
  const Tokenizer tokenizer = bert();
  const std::string text = words(60);
  auto plan = plan_windows(tokenizer, text, {.max_tokens = 16, .overlap = 0, .max_windows = 100});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_GT(plan->windows.size(), 3u);
  EXPECT_FALSE(plan->cut);
  EXPECT_EQ(plan->windows.front().begin, 0u);
  EXPECT_EQ(plan->windows.back().end, text.size());
  std::size_t total = 0;
  for (std::size_t w = 0; w < plan->windows.size(); ++w) {
    const TextWindow& window = plan->windows[w];
    const std::string_view span = std::string_view(text).substr(window.begin, window.end - window.begin);
    EXPECT_LE(tokens_of(tokenizer, span), 16u) << span;
    EXPECT_EQ(tokens_of(tokenizer, span), window.tokens) << span;
    EXPECT_NE(span.front(), ' ');
    EXPECT_NE(span.back(), ' ');
    // No overlap: the next window starts after this one, separated by whitespace only.
    if (w + 1 < plan->windows.size()) {
      EXPECT_EQ(text.substr(window.end, plan->windows[w + 1].begin - window.end), " ");
    }
    total += window.tokens;
  }
  EXPECT_EQ(total, plan->tokens);
  EXPECT_EQ(plan->tokens, tokens_of(tokenizer, text));
}

TEST(Windows, ConsecutiveWindowsShareAtMostTheOverlap) {
  const Tokenizer tokenizer = bert();
  const std::string text = words(60);
  auto plan = plan_windows(tokenizer, text, {.max_tokens = 16, .overlap = 6, .max_windows = 100});
  ASSERT_TRUE(plan.ok());
  ASSERT_GT(plan->windows.size(), 3u);
  for (std::size_t w = 0; w + 1 < plan->windows.size(); ++w) {
    const TextWindow& a = plan->windows[w];
    const TextWindow& b = plan->windows[w + 1];
    EXPECT_LT(a.begin, b.begin);
    EXPECT_LT(a.end, b.end);
    ASSERT_LT(b.begin, a.end) << "windows " << w << " and " << w + 1 << " should overlap";
    EXPECT_LE(tokens_of(tokenizer, std::string_view(text).substr(b.begin, a.end - b.begin)), 6u);
  }
  EXPECT_EQ(plan->windows.back().end, text.size());
}

TEST(Windows, MaxWindowsCutsTheRestAndLeftKeepsTheEnd) {
  const Tokenizer tokenizer = bert();
  const std::string text = words(60);
  auto right = plan_windows(tokenizer, text, {.max_tokens = 16, .overlap = 0, .max_windows = 2});
  ASSERT_TRUE(right.ok());
  ASSERT_EQ(right->windows.size(), 2u);
  EXPECT_TRUE(right->cut);
  EXPECT_EQ(right->windows.front().begin, 0u);
  EXPECT_LT(right->windows.back().end, text.size());

  auto left = plan_windows(tokenizer, text,
                           {.max_tokens = 16, .overlap = 0, .max_windows = 2, .direction = TruncationDirection::kLeft});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->windows.size(), 2u);
  EXPECT_TRUE(left->cut);
  EXPECT_GT(left->windows.front().begin, 0u);
  EXPECT_EQ(left->windows.back().end, text.size());
  EXPECT_LT(left->windows.front().begin, left->windows.back().begin);
}

TEST(Windows, MaxTotalTokensLimitsWhatIsWindowedFromTheKeptEnd) {
  const Tokenizer tokenizer = bert();
  const std::string text = words(60);
  for (TruncationDirection direction : {TruncationDirection::kRight, TruncationDirection::kLeft}) {
    auto plan = plan_windows(tokenizer, text,
                             {.max_tokens = 16, .overlap = 0, .max_windows = 100, .max_total_tokens = 40,
                              .direction = direction});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    EXPECT_TRUE(plan->cut);
    std::size_t total = 0;
    for (const TextWindow& w : plan->windows) total += w.tokens;
    EXPECT_LE(total, 40u);
    EXPECT_GE(total, 36u);  // filled up to the limit, give or take a word
    if (direction == TruncationDirection::kRight) {
      EXPECT_EQ(plan->windows.front().begin, 0u);
    } else {
      EXPECT_EQ(plan->windows.back().end, text.size());
    }
  }
}

TEST(Windows, AWordLongerThanAWindowIsCutBetweenCharacters) {
  const Tokenizer tokenizer = bert();
  std::string text = "start ";
  // One whitespace-free run of many tokens (under WordPiece's 100 characters
  // a word, beyond which it would be one [UNK]).
  for (int i = 0; i < 30; ++i) text += "é1x";
  text += " end";
  auto plan = plan_windows(tokenizer, text, {.max_tokens = 8, .overlap = 0, .max_windows = 100});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_GT(plan->windows.size(), 2u);
  for (const TextWindow& w : plan->windows) {
    const std::string_view span = std::string_view(text).substr(w.begin, w.end - w.begin);
    EXPECT_LE(tokens_of(tokenizer, span), 8u + 1) << span;  // a cut may split a token's context
    EXPECT_TRUE(tokenizer.tokenize(span).ok()) << "window not at a character boundary: " << span;
  }
  EXPECT_EQ(plan->windows.back().end, text.size());
}

TEST(Windows, BadOptionsAndTextAreNamed) {
  const Tokenizer tokenizer = bert();
  auto zero = plan_windows(tokenizer, "text", {.max_tokens = 0});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("max_tokens"), std::string::npos);
  auto overlap = plan_windows(tokenizer, "text", {.max_tokens = 4, .overlap = 4, .max_windows = 1});
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.status().message().find("overlap"), std::string::npos);
  auto windows = plan_windows(tokenizer, "text", {.max_tokens = 4, .overlap = 0, .max_windows = 0});
  ASSERT_FALSE(windows.ok());
  EXPECT_NE(windows.status().message().find("max_windows"), std::string::npos);
  auto utf8 = plan_windows(tokenizer, "ok \xff bad", {.max_tokens = 4, .overlap = 0, .max_windows = 1});
  ASSERT_FALSE(utf8.ok());
  EXPECT_NE(utf8.status().message().find("UTF-8"), std::string::npos);
}

TEST(Windows, CodePointOffsets) {
  EXPECT_EQ(code_point_offset("héllo wörld", 0), 0u);
  EXPECT_EQ(code_point_offset("héllo wörld", 3), 2u);  // "hé" is 3 bytes
  EXPECT_EQ(code_point_offset("héllo wörld", 13), 11u);
}

}  // namespace
}  // namespace winnow::text

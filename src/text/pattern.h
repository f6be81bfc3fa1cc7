// Patterns that cut normalized text, reproducing `Pattern::find_matches` and
// `NormalizedString::split` of the Hugging Face tokenizers crate: a pattern
// yields contiguous spans that cover the text, each flagged as a match of the
// pattern or not, and a SplitBehavior decides what becomes of the matches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/unicode.h"

namespace winnow::text {

struct MatchSpan {
  std::uint32_t start = 0;  // byte offsets into the searched text
  std::uint32_t end = 0;
  bool is_match = false;
};

// What a split does with the delimiters a pattern matches.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Parses "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous".
base::Result<SplitBehavior> parse_split_behavior(std::string_view name);

// An Oniguruma regular expression (UTF-8, default Oniguruma syntax, no options:
// exactly how the crate's `SysRegex` compiles `Regex` patterns). Thread-safe.
class Regex {
 public:
  // InvalidArgument with Oniguruma's message when `pattern` does not compile.
  static base::Result<Regex> compile(std::string_view pattern);

  // Appends the spans of `text` as the crate's find_matches reports them,
  // including empty matches (an empty match right where the previous match
  // ended is skipped, as the `onig` crate's find_iter does).
  void find_matches(std::string_view text, std::vector<MatchSpan>& out) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

// A `String` or `Regex` pattern from tokenizer.json. A non-empty String is
// searched literally; an empty one behaves as the empty regex, as the crate
// (which escapes it into a regex) does.
class TextPattern {
 public:
  static base::Result<TextPattern> literal(std::string text);
  static base::Result<TextPattern> regex(std::string_view pattern);

  void find_matches(std::string_view text, std::vector<MatchSpan>& out) const;

 private:
  std::string literal_;
  bool is_regex_ = false;
  Regex regex_;
};

// Spans of `text` where each code point satisfying `pred` is its own match.
template <typename Pred>
void find_char_matches(std::string_view text, Pred pred, std::vector<MatchSpan>& out) {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  std::uint32_t last_offset = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    auto b = static_cast<std::uint32_t>(i);
    char32_t c = unicode::decode(text, i);
    if (pred(c)) {
      if (last_offset < b) out.push_back({last_offset, b, false});
      out.push_back({b, static_cast<std::uint32_t>(i), true});
      last_offset = static_cast<std::uint32_t>(i);
    }
  }
  if (text.size() > last_offset) out.push_back({last_offset, static_cast<std::uint32_t>(text.size()), false});
}

// Flips every span's is_match flag (the crate's `Invert`).
void invert_matches(std::vector<MatchSpan>& spans);

// Turns spans into the [start, end) pieces that `behavior` keeps, in order.
// Pieces may be empty; callers drop them as PreTokenizedString::split does.
void apply_split_behavior(const std::vector<MatchSpan>& spans, SplitBehavior behavior,
                          std::vector<MatchSpan>& pieces);

}  // namespace winnow::text

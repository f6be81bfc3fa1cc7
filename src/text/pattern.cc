#include "text/pattern.h"

#include <algorithm>
#include <mutex>

#include <oniguruma.h>

namespace winnow::text {

base::Result<SplitBehavior> parse_split_behavior(std::string_view name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return base::invalid_argument("unknown split behavior \"" + std::string(name) +
                                "\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or "
                                "Contiguous)");
}

struct Regex::Compiled {
  regex_t* regex = nullptr;
  ~Compiled() {
    if (regex != nullptr) onig_free(regex);
  }
};

namespace {

void initialize_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

}  // namespace

base::Result<Regex> Regex::compile(std::string_view pattern) {
  initialize_oniguruma();
  auto compiled = std::make_shared<Compiled>();
  OnigErrorInfo error_info;
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  int r = onig_new(&compiled->regex, begin, begin + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                   ONIG_SYNTAX_DEFAULT, &error_info);
  if (r != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, r, &error_info);
    compiled->regex = nullptr;
    return base::invalid_argument("regex \"" + std::string(pattern) +
                                  "\" does not compile: " + reinterpret_cast<const char*>(message));
  }
  Regex result;
  result.compiled_ = std::move(compiled);
  return result;
}

void Regex::find_matches(std::string_view text, std::vector<MatchSpan>& out) const {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = start + text.size();
  OnigRegion* region = onig_region_new();
  std::size_t last_end = 0;
  bool have_last_match = false;
  std::size_t last_match_end = 0;
  std::uint32_t prev = 0;
  while (last_end <= text.size()) {
    onig_region_clear(region);
    int r = onig_search(compiled_->regex, start, end, start + last_end, end, region, ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH, or an error, which the crate also treats as "no more"
    auto s = static_cast<std::size_t>(region->beg[0]);
    auto e = static_cast<std::size_t>(region->end[0]);
    if (s == e && have_last_match && last_match_end == e) {
      last_end += last_end < text.size() ? unicode::sequence_length(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = e;
    have_last_match = true;
    last_match_end = e;
    if (prev != s) out.push_back({prev, static_cast<std::uint32_t>(s), false});
    out.push_back({static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(e), true});
    prev = static_cast<std::uint32_t>(e);
  }
  onig_region_free(region, 1);
  if (prev != text.size()) out.push_back({prev, static_cast<std::uint32_t>(text.size()), false});
}

base::Result<TextPattern> TextPattern::literal(std::string text) {
  TextPattern p;
  if (text.empty()) {
    WINNOW_ASSIGN_OR_RETURN(p.regex_, Regex::compile(""));
    p.is_regex_ = true;
  } else {
    p.literal_ = std::move(text);
  }
  return p;
}

base::Result<TextPattern> TextPattern::regex(std::string_view pattern) {
  TextPattern p;
  WINNOW_ASSIGN_OR_RETURN(p.regex_, Regex::compile(pattern));
  p.is_regex_ = true;
  return p;
}

void TextPattern::find_matches(std::string_view text, std::vector<MatchSpan>& out) const {
  if (is_regex_) {
    regex_.find_matches(text, out);
    return;
  }
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  std::uint32_t prev = 0;
  std::size_t pos = 0;
  while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
    auto s = static_cast<std::uint32_t>(pos);
    auto e = static_cast<std::uint32_t>(pos + literal_.size());
    if (prev != s) out.push_back({prev, s, false});
    out.push_back({s, e, true});
    prev = e;
    pos = e;
  }
  if (prev != text.size()) out.push_back({prev, static_cast<std::uint32_t>(text.size()), false});
}

void invert_matches(std::vector<MatchSpan>& spans) {
  for (auto& span : spans) span.is_match = !span.is_match;
}

void apply_split_behavior(const std::vector<MatchSpan>& spans, SplitBehavior behavior,
                          std::vector<MatchSpan>& pieces) {
  pieces.clear();
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& s : spans) pieces.push_back({s.start, s.end, false});
      return;
    case SplitBehavior::kRemoved:
      for (const auto& s : spans) {
        if (!s.is_match) pieces.push_back({s.start, s.end, false});
      }
      return;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match == previous_match && !pieces.empty()) {
          pieces.back().end = s.end;
        } else {
          pieces.push_back({s.start, s.end, false});
        }
        previous_match = s.is_match;
      }
      return;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = s.end;
        } else {
          pieces.push_back({s.start, s.end, false});
        }
        previous_match = s.is_match;
      }
      return;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().start = it->start;
        } else {
          pieces.push_back({it->start, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      return;
    }
  }
}

}  // namespace winnow::text

#include "text/added_vocabulary.h"

#include <algorithm>
#include <unordered_set>

#include "text/json_fields.h"
#include "text/unicode.h"

namespace winnow::text {

namespace {

bool same_token(const AddedToken& a, const AddedToken& b) {
  return a.content == b.content && a.single_word == b.single_word && a.lstrip == b.lstrip &&
         a.rstrip == b.rstrip && a.normalized == b.normalized && a.special == b.special;
}

// The code point that ends `s` (non-empty).
char32_t last_char(std::string_view s) {
  std::size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return unicode::decode(s, start);
}

}  // namespace

base::Result<std::vector<AddedToken>> AddedVocabulary::parse(const nlohmann::json& added_tokens,
                                                             std::string_view file) {
  std::vector<AddedToken> tokens;
  if (added_tokens.is_null()) return tokens;
  std::string where = std::string(file) + ": added_tokens";
  if (!added_tokens.is_array()) return base::invalid_argument(where + ": must be an array");
  for (std::size_t i = 0; i < added_tokens.size(); ++i) {
    const auto& entry = added_tokens[i];
    std::string item = where + "[" + std::to_string(i) + "]";
    if (!entry.is_object()) return base::invalid_argument(item + ": must be an object");
    AddedToken token;
    WINNOW_ASSIGN_OR_RETURN(token.content, require_string(entry, "content", item));
    WINNOW_ASSIGN_OR_RETURN(token.single_word, get_bool(entry, "single_word", false, item));
    WINNOW_ASSIGN_OR_RETURN(token.lstrip, get_bool(entry, "lstrip", false, item));
    WINNOW_ASSIGN_OR_RETURN(token.rstrip, get_bool(entry, "rstrip", false, item));
    WINNOW_ASSIGN_OR_RETURN(token.special, get_bool(entry, "special", false, item));
    WINNOW_ASSIGN_OR_RETURN(token.normalized, get_bool(entry, "normalized", !token.special, item));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

AddedVocabulary AddedVocabulary::build(const std::vector<AddedToken>& tokens, const SubwordModel& model,
                                       const Normalizer* normalizer) {
  AddedVocabulary vocab;
  std::vector<AddedToken> special_tokens;
  std::unordered_set<std::string> special_set;
  for (const auto& token : tokens) {
    if (token.special && !token.content.empty() && special_set.insert(token.content).second) {
      special_tokens.push_back(token);
    }
  }
  std::vector<AddedToken> added_tokens;  // the non-special ones
  std::vector<AddedToken> existing;
  auto next_id = static_cast<std::int32_t>(model.vocab_size());
  for (const auto& token : tokens) {
    bool seen = std::any_of(existing.begin(), existing.end(),
                            [&](const AddedToken& e) { return same_token(e, token); });
    if (token.content.empty() || seen) continue;
    std::int32_t id;
    if (auto it = vocab.by_content_.find(token.content); it != vocab.by_content_.end()) {
      id = it->second;
    } else if (auto model_id = model.token_to_id(token.content)) {
      id = *model_id;
    } else {
      id = next_id++;
    }
    vocab.by_content_[token.content] = id;
    vocab.by_id_[id] = token;
    if (!special_set.count(token.content)) added_tokens.push_back(token);
    existing.push_back(token);
  }
  std::vector<Pattern> raw;
  std::vector<Pattern> normalized;
  auto add_pattern = [&](const AddedToken& token) {
    std::int32_t id = vocab.by_content_.at(token.content);
    if (token.normalized) {
      std::string text = token.content;
      if (normalizer != nullptr) normalizer->normalize(text);
      if (!text.empty()) normalized.push_back({std::move(text), id});
    } else {
      raw.push_back({token.content, id});
    }
  };
  for (const auto& token : special_tokens) add_pattern(token);
  for (const auto& token : added_tokens) add_pattern(token);
  vocab.raw_ = make_matcher(std::move(raw));
  vocab.normalized_ = make_matcher(std::move(normalized));
  return vocab;
}

AddedVocabulary::Matcher AddedVocabulary::make_matcher(std::vector<Pattern> patterns) {
  Matcher m;
  m.patterns = std::move(patterns);
  m.buckets.assign(256, {});
  for (std::uint32_t i = 0; i < m.patterns.size(); ++i) {
    m.buckets[static_cast<unsigned char>(m.patterns[i].text[0])].push_back(i);
  }
  for (auto& bucket : m.buckets) {
    std::stable_sort(bucket.begin(), bucket.end(), [&](std::uint32_t a, std::uint32_t b) {
      return m.patterns[a].text.size() > m.patterns[b].text.size();
    });
  }
  return m;
}

void AddedVocabulary::find_matches(std::string_view sentence, const Matcher& matcher,
                                   std::vector<Found>& out) const {
  out.clear();
  if (sentence.empty()) {
    out.push_back({0, 0, -1});
    return;
  }
  const std::size_t n = sentence.size();
  std::size_t start_offset = 0;
  std::size_t pos = 0;
  while (pos < n && !matcher.empty()) {
    // Leftmost-longest match at or after pos.
    const Pattern* hit = nullptr;
    std::size_t at = pos;
    for (; at < n && hit == nullptr; ++at) {
      for (std::uint32_t index : matcher.buckets[static_cast<unsigned char>(sentence[at])]) {
        const Pattern& p = matcher.patterns[index];
        if (sentence.compare(at, p.text.size(), p.text) == 0) {
          hit = &p;
          break;
        }
      }
    }
    if (hit == nullptr) break;
    std::size_t start = at - 1;
    std::size_t stop = start + hit->text.size();
    pos = stop;  // the search goes on after the match itself, whatever is done with it
    const AddedToken& token = by_id_.at(hit->id);
    if (token.single_word) {
      bool start_space = start == 0 || !unicode::is_word_char(last_char(sentence.substr(0, start)));
      bool stop_space = stop == n || [&] {
        std::size_t i = stop;
        return !unicode::is_word_char(unicode::decode(sentence, i));
      }();
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) {
      std::size_t new_start = start;
      while (new_start > 0) {
        std::size_t prev = new_start - 1;
        while (prev > 0 && (static_cast<unsigned char>(sentence[prev]) & 0xC0) == 0x80) --prev;
        std::size_t i = prev;
        if (!unicode::is_whitespace(unicode::decode(sentence, i))) break;
        new_start = prev;
      }
      start = std::max(new_start, start_offset);
    }
    if (token.rstrip) {
      while (stop < n) {
        std::size_t i = stop;
        if (!unicode::is_whitespace(unicode::decode(sentence, i))) break;
        stop = i;
      }
    }
    if (start_offset < start) {
      out.push_back({static_cast<std::uint32_t>(start_offset), static_cast<std::uint32_t>(start), -1});
    }
    out.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(stop), hit->id});
    start_offset = stop;
  }
  if (start_offset != n) {
    out.push_back({static_cast<std::uint32_t>(start_offset), static_cast<std::uint32_t>(n), -1});
  }
}

void AddedVocabulary::extract_and_normalize(std::string_view text, const Normalizer* normalizer,
                                            std::vector<Segment>& out) const {
  out.clear();
  std::vector<Found> found;
  find_matches(text, raw_, found);
  std::vector<Found> inner;
  for (const auto& f : found) {
    if (f.end <= f.start) continue;
    std::string_view piece = text.substr(f.start, f.end - f.start);
    if (f.id >= 0) {
      out.push_back({std::string(piece), f.id, f.start == 0});
      continue;
    }
    std::string normalized(piece);
    if (normalizer != nullptr) normalizer->normalize(normalized);
    if (normalized_.empty()) {
      if (!normalized.empty()) out.push_back({std::move(normalized), -1, f.start == 0});
      continue;
    }
    find_matches(normalized, normalized_, inner);
    for (const auto& g : inner) {
      if (g.end <= g.start) continue;
      out.push_back({normalized.substr(g.start, g.end - g.start), g.id, f.start == 0 && g.start == 0});
    }
  }
}

std::optional<std::int32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

}  // namespace winnow::text

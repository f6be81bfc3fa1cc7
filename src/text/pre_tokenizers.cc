#include "text/pre_tokenizers.h"

#include "text/byte_level.h"
#include "text/json_fields.h"
#include "text/pattern.h"
#include "text/unicode.h"

namespace winnow::text {

namespace {

// Appends the non-empty pieces of `split` to `out`.
void emit_pieces(const Split& split, const std::vector<MatchSpan>& pieces, std::vector<Split>& out) {
  for (const auto& p : pieces) {
    if (p.end <= p.start) continue;
    out.push_back({split.text.substr(p.start, p.end - p.start), split.at_origin && p.start == 0});
  }
}

// Runs `cut(split, out)` over every split.
template <typename Cut>
void split_each(std::vector<Split>& splits, Cut cut) {
  std::vector<Split> out;
  out.reserve(splits.size() * 4);
  for (const auto& split : splits) cut(split, out);
  splits = std::move(out);
}

// Splits on a per-code-point predicate with the given behavior.
template <typename Pred>
void split_on_chars(std::vector<Split>& splits, Pred pred, SplitBehavior behavior) {
  std::vector<MatchSpan> spans;
  std::vector<MatchSpan> pieces;
  split_each(splits, [&](const Split& split, std::vector<Split>& out) {
    spans.clear();
    find_char_matches(split.text, pred, spans);
    apply_split_behavior(spans, behavior, pieces);
    emit_pieces(split, pieces, out);
  });
}

// Whitespace removed, then every punctuation code point isolated (one pass).
class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_each(splits, [](const Split& split, std::vector<Split>& out) {
      const std::string& t = split.text;
      std::size_t word_start = 0;
      auto flush = [&](std::size_t end) {
        if (end > word_start) out.push_back({t.substr(word_start, end - word_start), split.at_origin && word_start == 0});
      };
      for (std::size_t i = 0; i < t.size();) {
        std::size_t start = i;
        char32_t c = unicode::decode(t, i);
        if (unicode::is_whitespace(c)) {
          flush(start);
          word_start = i;
        } else if (unicode::is_ascii_punctuation(c) || (c >= 0x80 && unicode::is_punctuation(c))) {
          flush(start);
          out.push_back({t.substr(start, i - start), split.at_origin && start == 0});
          word_start = i;
        }
      }
      flush(t.size());
    });
  }
};

// `\w+|[^\w\s]+` (Rust regex, Unicode): runs of word characters and runs of
// other non-space characters; whitespace is dropped.
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_each(splits, [](const Split& split, std::vector<Split>& out) {
      const std::string& t = split.text;
      std::size_t i = 0;
      while (i < t.size()) {
        std::size_t start = i;
        char32_t c = unicode::decode(t, i);
        if (unicode::is_whitespace(c)) continue;
        bool word = unicode::is_word_char(c);
        std::size_t end = i;
        while (end < t.size()) {
          std::size_t next = end;
          char32_t d = unicode::decode(t, next);
          bool d_word = unicode::is_word_char(d);
          if (word ? !d_word : (d_word || unicode::is_whitespace(d))) break;
          end = next;
        }
        out.push_back({t.substr(start, end - start), split.at_origin && start == 0});
        i = end;
      }
    });
  }
};

class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_on_chars(splits, unicode::is_whitespace, SplitBehavior::kRemoved);
  }
};

class PunctuationPreTokenizer final : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior) : behavior_(behavior) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_on_chars(
        splits, [](char32_t c) { return unicode::is_ascii_punctuation(c) || unicode::is_punctuation(c); },
        behavior_);
  }

 private:
  SplitBehavior behavior_;
};

class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_on_chars(splits, unicode::is_numeric,
                   individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }

 private:
  bool individual_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    std::vector<MatchSpan> spans;
    std::vector<MatchSpan> pieces;
    split_each(splits, [&](const Split& split, std::vector<Split>& out) {
      spans.clear();
      pattern_.find_matches(split.text, spans);
      if (invert_) invert_matches(spans);
      apply_split_behavior(spans, behavior_, pieces);
      emit_pieces(split, pieces, out);
    });
  }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

// Metaspace: spaces become the replacement character, which is prepended as
// the scheme says, and each replacement character starts a new piece.
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    unicode::append_utf8(replacement_utf8_, replacement);
  }
  void pre_tokenize(std::vector<Split>& splits) const override {
    std::vector<MatchSpan> spans;
    std::vector<MatchSpan> pieces;
    split_each(splits, [&](const Split& split, std::vector<Split>& out) {
      Split replaced;
      replaced.at_origin = split.at_origin;
      replaced.text.reserve(split.text.size() + 8);
      bool prepend = false;
      // Tested after spaces become the replacement, so a leading space counts.
      bool starts_with_replacement = split.text.compare(0, replacement_utf8_.size(), replacement_utf8_) == 0 ||
                                     (!split.text.empty() && split.text[0] == ' ');
      if (scheme_ == PrependScheme::kAlways) prepend = !starts_with_replacement;
      if (scheme_ == PrependScheme::kFirst) prepend = !starts_with_replacement && split.at_origin;
      if (prepend && !split.text.empty()) replaced.text = replacement_utf8_;
      for (char c : split.text) {
        if (c == ' ') {
          replaced.text += replacement_utf8_;
        } else {
          replaced.text.push_back(c);
        }
      }
      if (!split_) {
        if (!replaced.text.empty()) out.push_back(std::move(replaced));
        return;
      }
      spans.clear();
      char32_t r = replacement_;
      find_char_matches(replaced.text, [r](char32_t c) { return c == r; }, spans);
      apply_split_behavior(spans, SplitBehavior::kMergedWithNext, pieces);
      emit_pieces(replaced, pieces, out);
    });
  }

 private:
  char32_t replacement_;
  std::string replacement_utf8_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    for (const auto& p : parts_) p->pre_tokenize(splits);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

base::Result<SplitBehavior> get_behavior(const nlohmann::json& spec, std::string_view fallback,
                                         std::string_view where) {
  WINNOW_ASSIGN_OR_RETURN(std::string name, get_string(spec, "behavior", fallback, where));
  auto behavior = parse_split_behavior(name);
  if (!behavior.ok()) return behavior.status().with_context(where);
  return behavior;
}

}  // namespace

base::Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const nlohmann::json& spec, std::string_view file) {
  std::string where = std::string(file) + ": pre_tokenizer";
  WINNOW_ASSIGN_OR_RETURN(std::string type, get_type(spec, where));
  where += " \"" + type + "\"";
  if (type == "BertPreTokenizer") return std::unique_ptr<PreTokenizer>(new BertPreTokenizer());
  if (type == "Whitespace") return std::unique_ptr<PreTokenizer>(new WhitespacePreTokenizer());
  if (type == "WhitespaceSplit") return std::unique_ptr<PreTokenizer>(new WhitespaceSplitPreTokenizer());
  if (type == "Punctuation") {
    WINNOW_ASSIGN_OR_RETURN(SplitBehavior behavior, get_behavior(spec, "Isolated", where));
    return std::unique_ptr<PreTokenizer>(new PunctuationPreTokenizer(behavior));
  }
  if (type == "Digits") {
    WINNOW_ASSIGN_OR_RETURN(bool individual, get_bool(spec, "individual_digits", false, where));
    return std::unique_ptr<PreTokenizer>(new DigitsPreTokenizer(individual));
  }
  if (type == "Split") {
    auto pattern_it = spec.find("pattern");
    if (pattern_it == spec.end() || !pattern_it->is_object()) {
      return field_error(where, "pattern", "must be an object {\"String\": ...} or {\"Regex\": ...}");
    }
    base::Result<TextPattern> pattern = base::invalid_argument("unset");
    if (pattern_it->contains("String") && (*pattern_it)["String"].is_string()) {
      pattern = TextPattern::literal((*pattern_it)["String"].get<std::string>());
    } else if (pattern_it->contains("Regex") && (*pattern_it)["Regex"].is_string()) {
      pattern = TextPattern::regex((*pattern_it)["Regex"].get<std::string>());
    } else {
      return field_error(where, "pattern", "must be an object {\"String\": ...} or {\"Regex\": ...}");
    }
    if (!pattern.ok()) return pattern.status().with_context(where);
    if (!spec.contains("behavior")) return field_error(where, "behavior", "is missing");
    WINNOW_ASSIGN_OR_RETURN(SplitBehavior behavior, get_behavior(spec, "Removed", where));
    WINNOW_ASSIGN_OR_RETURN(bool invert, get_bool(spec, "invert", false, where));
    return std::unique_ptr<PreTokenizer>(new SplitPreTokenizer(std::move(pattern).value(), behavior, invert));
  }
  if (type == "Metaspace") {
    WINNOW_ASSIGN_OR_RETURN(std::string replacement, get_string(spec, "replacement", "\xE2\x96\x81", where));
    if (replacement.empty() || unicode::find_invalid_utf8(replacement) != std::string_view::npos ||
        unicode::count_chars(replacement) != 1) {
      return field_error(where, "replacement", "must be a single character");
    }
    std::size_t zero = 0;
    char32_t replacement_char = unicode::decode(replacement, zero);
    WINNOW_ASSIGN_OR_RETURN(std::string scheme_name, get_string(spec, "prepend_scheme", "always", where));
    PrependScheme scheme;
    if (scheme_name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (scheme_name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (scheme_name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return field_error(where, "prepend_scheme", "must be \"always\", \"first\" or \"never\"");
    }
    // Legacy files carry add_prefix_space; false means "never" and must agree.
    if (spec.contains("add_prefix_space") && spec["add_prefix_space"].is_boolean() &&
        !spec["add_prefix_space"].get<bool>()) {
      if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null() && scheme != PrependScheme::kNever) {
        return field_error(where, "add_prefix_space", "does not match the declared prepend_scheme");
      }
      scheme = PrependScheme::kNever;
    }
    WINNOW_ASSIGN_OR_RETURN(bool split, get_bool(spec, "split", true, where));
    return std::unique_ptr<PreTokenizer>(new MetaspacePreTokenizer(replacement_char, scheme, split));
  }
  if (type == "ByteLevel") return make_byte_level_pre_tokenizer(spec, where);
  if (type == "Sequence") {
    auto it = spec.find("pretokenizers");
    if (it == spec.end() || !it->is_array()) return field_error(where, "pretokenizers", "must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const auto& child : *it) {
      WINNOW_ASSIGN_OR_RETURN(auto part, make_pre_tokenizer(child, file));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(parts)));
  }
  return base::invalid_argument(std::string(file) + ": pre_tokenizer type \"" + type + "\" is not supported");
}

}  // namespace winnow::text

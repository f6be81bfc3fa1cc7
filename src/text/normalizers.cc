#include "text/normalizers.h"

#include <vector>

#include "text/json_fields.h"
#include "text/pattern.h"
#include "text/precompiled_charsmap.h"
#include "text/unicode.h"

namespace winnow::text {

namespace {

// BertNormalizer: clean_text, handle_chinese_chars, strip_accents, lowercase,
// applied in that order over the whole text.
class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void normalize(std::string& text) const override {
    if (unicode::is_ascii(text)) {
      normalize_ascii(text);
      return;
    }
    std::string out;
    out.reserve(text.size() + 16);
    // clean_text and handle_chinese_chars work per code point.
    for (std::size_t i = 0; i < text.size();) {
      char32_t c = unicode::decode(text, i);
      if (clean_text_) {
        // Removal first: \v, \f and NEL are White_Space but also Cc, so they go.
        bool tab_or_newline = c == '\t' || c == '\n' || c == '\r';
        if (c == 0 || c == 0xFFFD || (!tab_or_newline && unicode::is_other(c))) continue;
        if (tab_or_newline || unicode::is_whitespace(c)) c = ' ';
      }
      if (handle_chinese_chars_ && unicode::is_chinese_char(c)) {
        out.push_back(' ');
        unicode::append_utf8(out, c);
        out.push_back(' ');
      } else {
        unicode::append_utf8(out, c);
      }
    }
    if (strip_accents_) unicode::normalize(unicode::NormalForm::kNfd, out);
    if (!strip_accents_ && !lowercase_) {
      text = std::move(out);
      return;
    }
    text.clear();
    for (std::size_t i = 0; i < out.size();) {
      char32_t c = unicode::decode(out, i);
      if (strip_accents_ && unicode::is_nonspacing_mark(c)) continue;
      if (lowercase_) {
        unicode::append_lowercase(text, c);
      } else {
        unicode::append_utf8(text, c);
      }
    }
  }

 private:
  void normalize_ascii(std::string& text) const {
    std::size_t w = 0;
    for (char ch : text) {
      auto c = static_cast<unsigned char>(ch);
      if (clean_text_) {
        if (c == '\t' || c == '\n' || c == '\r') {
          c = ' ';
        } else if (c < 0x20 || c == 0x7F) {
          continue;  // NUL and the other C0 controls and DEL (category Cc)
        }
      }
      if (lowercase_ && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
      text[w++] = static_cast<char>(c);
    }
    text.resize(w);
  }

  bool clean_text_;
  bool handle_chinese_chars_;
  bool strip_accents_;
  bool lowercase_;
};

class PrecompiledNormalizer final : public Normalizer {
 public:
  explicit PrecompiledNormalizer(PrecompiledCharsmap map) : map_(std::move(map)) {}
  void normalize(std::string& text) const override {
    std::string out;
    map_.normalize(text, out);
    text = std::move(out);
  }

 private:
  PrecompiledCharsmap map_;
};

// Replace: every match of the pattern (empty matches included) becomes `content`.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    std::vector<MatchSpan> spans;
    pattern_.find_matches(text, spans);
    bool any = false;
    for (const auto& s : spans) any = any || s.is_match;
    if (!any) return;
    std::string out;
    out.reserve(text.size());
    for (const auto& s : spans) {
      if (s.is_match) {
        out += content_;
      } else {
        out.append(text, s.start, s.end - s.start);
      }
    }
    text = std::move(out);
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

// Strip: removes leading and/or trailing White_Space code points.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    std::size_t begin = 0;
    std::size_t end = text.size();
    if (right_) {
      while (end > 0) {
        std::size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        std::size_t i = start;
        if (!unicode::is_whitespace(unicode::decode(text, i))) break;
        end = start;
      }
    }
    if (left_) {
      while (begin < end) {
        std::size_t i = begin;
        if (!unicode::is_whitespace(unicode::decode(text, i))) break;
        begin = i;
      }
    }
    if (begin == 0 && end == text.size()) return;
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_;
  bool right_;
};

// StripAccents: removes combining marks (general category M).
class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    if (unicode::is_ascii(text)) return;
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
      std::size_t start = i;
      char32_t c = unicode::decode(text, i);
      if (!unicode::is_mark(c)) out.append(text, start, i - start);
    }
    text = std::move(out);
  }
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { unicode::normalize(form_, text); }

 private:
  unicode::NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    if (unicode::is_ascii(text)) {
      for (char& c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      }
      return;
    }
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) unicode::append_lowercase(out, unicode::decode(text, i));
    text = std::move(out);
  }
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> normalizers)
      : normalizers_(std::move(normalizers)) {}
  void normalize(std::string& text) const override {
    for (const auto& n : normalizers_) n->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

}  // namespace

base::Result<std::unique_ptr<Normalizer>> make_normalizer(const nlohmann::json& spec, std::string_view file) {
  std::string where = std::string(file) + ": normalizer";
  WINNOW_ASSIGN_OR_RETURN(std::string type, get_type(spec, where));
  where += " \"" + type + "\"";
  if (type == "BertNormalizer") {
    WINNOW_ASSIGN_OR_RETURN(bool clean_text, get_bool(spec, "clean_text", true, where));
    WINNOW_ASSIGN_OR_RETURN(bool chinese, get_bool(spec, "handle_chinese_chars", true, where));
    WINNOW_ASSIGN_OR_RETURN(bool lowercase, get_bool(spec, "lowercase", true, where));
    // strip_accents: null (or absent) follows lowercase.
    WINNOW_ASSIGN_OR_RETURN(bool strip_accents, get_bool(spec, "strip_accents", lowercase, where));
    return std::unique_ptr<Normalizer>(new BertNormalizer(clean_text, chinese, strip_accents, lowercase));
  }
  if (type == "Precompiled") {
    WINNOW_ASSIGN_OR_RETURN(std::string base64, require_string(spec, "precompiled_charsmap", where));
    auto map = PrecompiledCharsmap::from_base64(base64);
    if (!map.ok()) return map.status().with_context(where);
    return std::unique_ptr<Normalizer>(new PrecompiledNormalizer(std::move(map).value()));
  }
  if (type == "Replace") {
    auto pattern_it = spec.find("pattern");
    if (pattern_it == spec.end() || !pattern_it->is_object()) {
      return field_error(where, "pattern", "must be an object {\"String\": ...} or {\"Regex\": ...}");
    }
    WINNOW_ASSIGN_OR_RETURN(std::string content, require_string(spec, "content", where));
    base::Result<TextPattern> pattern = base::invalid_argument("unset");
    if (pattern_it->contains("String") && (*pattern_it)["String"].is_string()) {
      pattern = TextPattern::literal((*pattern_it)["String"].get<std::string>());
    } else if (pattern_it->contains("Regex") && (*pattern_it)["Regex"].is_string()) {
      pattern = TextPattern::regex((*pattern_it)["Regex"].get<std::string>());
    } else {
      return field_error(where, "pattern", "must be an object {\"String\": ...} or {\"Regex\": ...}");
    }
    if (!pattern.ok()) return pattern.status().with_context(where);
    return std::unique_ptr<Normalizer>(new ReplaceNormalizer(std::move(pattern).value(), std::move(content)));
  }
  if (type == "Strip") {
    WINNOW_ASSIGN_OR_RETURN(bool left, get_bool(spec, "strip_left", true, where));
    WINNOW_ASSIGN_OR_RETURN(bool right, get_bool(spec, "strip_right", true, where));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccentsNormalizer());
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNfc));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNfd));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNfkc));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNfkd));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "Prepend") {
    WINNOW_ASSIGN_OR_RETURN(std::string prefix, require_string(spec, "prepend", where));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prefix)));
  }
  if (type == "Sequence") {
    auto it = spec.find("normalizers");
    if (it == spec.end() || !it->is_array()) return field_error(where, "normalizers", "must be an array");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& child : *it) {
      WINNOW_ASSIGN_OR_RETURN(auto part, make_normalizer(child, file));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(parts)));
  }
  return base::invalid_argument(std::string(file) + ": normalizer type \"" + type + "\" is not supported");
}

}  // namespace winnow::text

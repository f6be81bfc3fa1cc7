#include "text/byte_level.h"

#include <array>
#include <optional>

#include "text/json_fields.h"
#include "text/pattern.h"
#include "text/unicode.h"

namespace winnow::text {

namespace {

struct ByteTables {
  // UTF-8 spelling of each byte's character (1 or 2 bytes; all are < U+0800).
  std::array<std::array<char, 2>, 256> utf8{};
  std::array<unsigned char, 256> utf8_length{};

  ByteTables() {
    auto printable = [](unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      const char32_t c = printable(b) ? static_cast<char32_t>(b) : next++;
      std::string s;
      unicode::append_utf8(s, c);
      utf8_length[b] = static_cast<unsigned char>(s.size());
      utf8[b] = {s[0], s.size() > 1 ? s[1] : '\0'};
    }
  }
};

const ByteTables& tables() {
  static const ByteTables t;
  return t;
}

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  void pre_tokenize(std::vector<Split>& splits) const override {
    std::vector<Split> out;
    out.reserve(splits.size() * 4);
    std::vector<MatchSpan> spans;
    std::string prefixed;
    for (const auto& split : splits) {
      std::string_view text = split.text;
      if (text.empty()) continue;
      if (add_prefix_space_ && text.front() != ' ') {
        prefixed.clear();
        prefixed.push_back(' ');
        prefixed.append(text);
        text = prefixed;
      }
      if (!regex_) {
        out.push_back({{}, split.at_origin});
        append_byte_level(out.back().text, text);
        continue;
      }
      spans.clear();
      regex_->find_matches(text, spans);
      // Isolated: every span, match or not, is its own piece.
      for (const auto& span : spans) {
        if (span.end <= span.start) continue;
        out.push_back({{}, split.at_origin && span.start == 0});
        append_byte_level(out.back().text, text.substr(span.start, span.end - span.start));
      }
    }
    splits = std::move(out);
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;  // the GPT-2 pattern when use_regex
};

}  // namespace

void append_byte_level(std::string& out, std::string_view bytes) {
  const ByteTables& t = tables();
  out.reserve(out.size() + bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(t.utf8[b][0]);
    if (t.utf8_length[b] == 2) out.push_back(t.utf8[b][1]);
  }
}

base::Result<std::unique_ptr<PreTokenizer>> make_byte_level_pre_tokenizer(const nlohmann::json& spec,
                                                                          std::string_view where) {
  WINNOW_ASSIGN_OR_RETURN(bool add_prefix_space, get_bool(spec, "add_prefix_space", true, where));
  WINNOW_ASSIGN_OR_RETURN(bool trim_offsets, get_bool(spec, "trim_offsets", true, where));
  (void)trim_offsets;  // offsets only
  WINNOW_ASSIGN_OR_RETURN(bool use_regex, get_bool(spec, "use_regex", true, where));
  std::optional<Regex> regex;
  if (use_regex) {
    auto compiled = Regex::compile(kGpt2Pattern);
    if (!compiled.ok()) return compiled.status().with_context(where);
    regex = std::move(compiled).value();
  }
  return std::unique_ptr<PreTokenizer>(new ByteLevelPreTokenizer(add_prefix_space, std::move(regex)));
}

}  // namespace winnow::text

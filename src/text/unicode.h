// UTF-8 and Unicode character helpers with the semantics the Hugging Face
// `tokenizers` crate gets from Rust's std and its Unicode crates, answered by ICU.
//
// All functions that take a std::string_view assume valid UTF-8 unless they say
// otherwise; Tokenizer validates its input once with find_invalid_utf8().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::text::unicode {

// Byte offset of the first byte that does not start a well-formed UTF-8
// sequence (overlong forms, surrogates and values above U+10FFFF are
// ill-formed), or std::string_view::npos when `s` is valid.
std::size_t find_invalid_utf8(std::string_view s);

// Decodes the code point starting at s[i] and advances i past it.
inline char32_t decode(std::string_view s, std::size_t& i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  if (b0 < 0xE0) {
    char32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    i += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    char32_t cp = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                  (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    i += 3;
    return cp;
  }
  char32_t cp = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
                ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
                (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  i += 4;
  return cp;
}

// Length in bytes of the UTF-8 sequence whose first byte is `lead`.
inline std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

inline std::size_t encoded_length(char32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

inline void append_utf8(std::string& out, char32_t cp) {
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
}

inline bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Number of code points in `s`.
std::size_t count_chars(std::string_view s);

// Rust `char::is_whitespace`: the White_Space property.
bool is_whitespace(char32_t cp);
// The next three answer as the crate's `unicode_categories` tables do, which
// are Unicode 8.0: code points assigned since then are in no category.
//
// General category Cc, Cf or Co (unicode_categories' `is_other`, which BERT's
// clean_text treats as control characters; Cn and Cs are not included).
bool is_other(char32_t cp);
// General category Pc, Pd, Ps, Pe, Pi, Pf or Po.
bool is_punctuation(char32_t cp);
// General category Mn (BERT's strip_accents).
bool is_nonspacing_mark(char32_t cp);
// Rust `char::is_ascii_punctuation`: the 32 ASCII symbols and punctuation marks.
inline bool is_ascii_punctuation(char32_t cp) {
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0x7E);
}
// Rust `char::is_numeric`: general category Nd, Nl or No.
bool is_numeric(char32_t cp);
// General category Mn, Mc or Me, as the crate's Unicode 9.0 normalization
// tables see it (StripAccents).
bool is_mark(char32_t cp);
// The Rust regex crate's Unicode `\w`: Alphabetic, marks, Nd, Pc, Join_Control.
bool is_word_char(char32_t cp);
// BERT's CJK ideograph blocks (a fixed list, not a Unicode property).
bool is_chinese_char(char32_t cp);

// Appends Rust `char::to_lowercase(cp)`: the full, context-free lowercase
// mapping of Unicode 16.0 (U+0130 becomes "i\u0307"; capital sigma is always σ).
void append_lowercase(std::string& out, char32_t cp);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };

// Replaces `text` by its Unicode normal form as the crate computes it, with
// Unicode 9.0 data: code points assigned later are left as they are and
// neither reorder nor compose with their neighbours.
void normalize(NormalForm form, std::string& text);

// Byte offsets of the extended grapheme cluster boundaries of `text`, from 0
// to text.size() inclusive. Thread-safe (uses one ICU iterator per thread).
void grapheme_boundaries(std::string_view text, std::vector<std::uint32_t>& boundaries);

}  // namespace winnow::text::unicode

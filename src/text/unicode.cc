#include "text/unicode.h"

#include <iterator>
#include <memory>

#include <unicode/brkiter.h>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

namespace winnow::text::unicode {

std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char b0 = p[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    char32_t min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + len > n) return i;
    char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::size_t count_chars(std::string_view s) {
  std::size_t count = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

bool is_whitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return u_isUWhiteSpace(static_cast<UChar32>(cp));
}

namespace {

// The crate takes general categories from the `unicode_categories` crate,
// whose tables are Unicode 8.0: a code point assigned later has no category
// there, so it is neither punctuation, nor "other", nor a nonspacing mark.
bool assigned_by_unicode_8(UChar32 c) {
  UVersionInfo age;
  u_charAge(c, age);
  return age[0] < 8 || (age[0] == 8 && age[1] == 0);
}

// The crate normalizes (NFC, NFD, NFKC, NFKD, combining marks) with
// unicode-normalization-alignments, whose tables are Unicode 9.0.
bool assigned_by_unicode_9(UChar32 c) {
  UVersionInfo age;
  u_charAge(c, age);
  return age[0] <= 9;
}

}  // namespace

bool is_other(char32_t cp) {
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK)) != 0 && assigned_by_unicode_8(c);
}

// Code points whose general category changed between Unicode 8.0 and ICU's
// version, found by probing every code point through the crate:
// U+166D CANADIAN SYLLABICS CHI SIGN (Po, now So), U+111C9 SHARADA SANDHI MARK
// (Po, now Mn), U+1734 HANUNOO SIGN PAMUDPOD (Mn, now Mc), U+1885/U+1886
// MONGOLIAN LETTER ALI GALI BALUDA (Lo, now Mn), U+A9BD JAVANESE CONSONANT
// SIGN KERET (Mc, now Mn).
bool is_punctuation(char32_t cp) {
  if (cp == 0x166D || cp == 0x111C9) return true;
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & U_GC_P_MASK) != 0 && assigned_by_unicode_8(c);
}

namespace {

struct Range {
  char32_t first;
  char32_t last;
};

bool in_ranges(char32_t cp, const Range* ranges, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (cp >= ranges[i].first && cp <= ranges[i].last) return true;
  }
  return false;
}

// Numbers that Rust's std knows (Unicode 16.0 and later) and ICU 72 does not.
constexpr Range kNewerNumbers[] = {
    {0x10D40, 0x10D49}, {0x116D0, 0x116E3}, {0x11BF0, 0x11BF9}, {0x11DE0, 0x11DE9}, {0x16130, 0x16139},
    {0x16D70, 0x16D79}, {0x16FF4, 0x16FF6}, {0x1CCF0, 0x1CCF9}, {0x1E5F1, 0x1E5FA},
};

// Word characters (`\w`) that the Rust regex crate's Unicode 16.0 tables have
// and ICU 72 does not.
constexpr Range kNewerWordChars[] = {
    {0x897, 0x897},     {0x1C89, 0x1C8A},   {0xA7CB, 0xA7CD},   {0xA7DA, 0xA7DC},   {0x105C0, 0x105F3},
    {0x10D40, 0x10D65}, {0x10D69, 0x10D6D}, {0x10D6F, 0x10D85}, {0x10EC2, 0x10EC4}, {0x10EFC, 0x10EFC},
    {0x11380, 0x11389}, {0x1138B, 0x1138B}, {0x1138E, 0x1138E}, {0x11390, 0x113B5}, {0x113B7, 0x113C0},
    {0x113C2, 0x113C2}, {0x113C5, 0x113C5}, {0x113C7, 0x113CA}, {0x113CC, 0x113D3}, {0x113E1, 0x113E2},
    {0x116D0, 0x116E3}, {0x11BC0, 0x11BE0}, {0x11BF0, 0x11BF9}, {0x11F5A, 0x11F5A}, {0x13460, 0x143FA},
    {0x16100, 0x16139}, {0x16D40, 0x16D6C}, {0x16D70, 0x16D79}, {0x18CFF, 0x18CFF}, {0x1CCF0, 0x1CCF9},
    {0x1E5D0, 0x1E5FA}, {0x2EBF0, 0x2EE5D},
};

}  // namespace

bool is_numeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  if ((U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0) return true;
  return cp >= 0x10D40 && in_ranges(cp, kNewerNumbers, std::size(kNewerNumbers));
}

bool is_nonspacing_mark(char32_t cp) {
  if (cp == 0x1734) return true;
  if (cp == 0x1885 || cp == 0x1886 || cp == 0xA9BD || cp == 0x111C9) return false;
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & U_GC_MN_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_mark(char32_t cp) {
  // unicode-normalization-alignments' tables are Unicode 9.0: U+1CF2/U+1CF3
  // (VEDIC SIGN ARDHAVISARGA and ROTATED ARDHAVISARGA) were marks then, U+111C9
  // SHARADA SANDHI MARK was punctuation.
  if (cp == 0x1CF2 || cp == 0x1CF3) return true;
  if (cp == 0x111C9) return false;
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0 && assigned_by_unicode_9(c);
}

bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;  // Join_Control
  auto c = static_cast<UChar32>(cp);
  if ((U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0) return true;
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
  return in_ranges(cp, kNewerWordChars, std::size(kNewerWordChars));
}

bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

namespace {

// Lowercase mappings of Unicode 16.0 (Rust's std) that ICU 72 (Unicode 15.0)
// does not have yet; 0 when `cp` is not one of them.
char32_t unicode_16_lowercase(char32_t cp) {
  switch (cp) {
    case 0x1C89: return 0x1C8A;
    case 0xA7CB: return 0x0264;
    case 0xA7CC: return 0xA7CD;
    case 0xA7CE: return 0xA7CF;
    case 0xA7D2: return 0xA7D3;
    case 0xA7D4: return 0xA7D5;
    case 0xA7DA: return 0xA7DB;
    case 0xA7DC: return 0x019B;
    default: break;
  }
  if (cp >= 0x10D50 && cp <= 0x10D65) return cp + 0x20;
  if (cp >= 0x16EA0 && cp <= 0x16EB8) return cp + 0x1B;
  return 0;
}

}  // namespace

void append_lowercase(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
    return;
  }
  if (char32_t lower = unicode_16_lowercase(cp)) {
    append_utf8(out, lower);
    return;
  }
  // Full case mapping of the lone code point: with no context, ICU applies the
  // unconditional SpecialCasing rules only, as Rust's to_lowercase does.
  UChar src[2];
  int32_t src_len = 0;
  U16_APPEND_UNSAFE(src, src_len, static_cast<UChar32>(cp));
  UChar dst[8];
  UErrorCode status = U_ZERO_ERROR;
  int32_t dst_len = u_strToLower(dst, 8, src, src_len, "", &status);
  if (U_FAILURE(status) || dst_len > 8) {
    append_utf8(out, static_cast<char32_t>(u_tolower(static_cast<UChar32>(cp))));
    return;
  }
  for (int32_t k = 0; k < dst_len;) {
    UChar32 c;
    U16_NEXT_UNSAFE(dst, k, c);
    append_utf8(out, static_cast<char32_t>(c));
  }
}

void normalize(NormalForm form, std::string& text) {
  if (is_ascii(text)) return;  // ASCII is invariant under all four forms.
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = nullptr;
  switch (form) {
    case NormalForm::kNfc: normalizer = icu::Normalizer2::getNFCInstance(status); break;
    case NormalForm::kNfd: normalizer = icu::Normalizer2::getNFDInstance(status); break;
    case NormalForm::kNfkc: normalizer = icu::Normalizer2::getNFKCInstance(status); break;
    case NormalForm::kNfkd: normalizer = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status) || normalizer == nullptr) return;
  // Code points assigned after Unicode 9.0 are unknown to the crate's tables:
  // no decomposition, combining class 0, no composition. Each is therefore a
  // hard boundary that is copied as is, with the runs between normalized apart.
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  icu::StringByteSink<std::string> sink(&out);
  std::size_t run_start = 0;
  auto flush = [&](std::size_t end) {
    if (end > run_start) {
      normalizer->normalizeUTF8(0, icu::StringPiece(text.data() + run_start, static_cast<int32_t>(end - run_start)),
                                sink, nullptr, status);
    }
  };
  for (std::size_t i = 0; i < text.size();) {
    std::size_t start = i;
    char32_t c = decode(text, i);
    if (c >= 0x80 && !assigned_by_unicode_9(static_cast<UChar32>(c))) {
      flush(start);
      out.append(text, start, i - start);
      run_start = i;
    }
  }
  flush(text.size());
  if (U_SUCCESS(status)) text = std::move(out);
}

namespace {

icu::BreakIterator* thread_grapheme_iterator() {
  thread_local std::unique_ptr<icu::BreakIterator> iterator = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(
        icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) it.reset();
    return it;
  }();
  return iterator.get();
}

}  // namespace

void grapheme_boundaries(std::string_view text, std::vector<std::uint32_t>& boundaries) {
  boundaries.clear();
  boundaries.push_back(0);
  if (text.empty()) return;
  icu::BreakIterator* it = thread_grapheme_iterator();
  UErrorCode status = U_ZERO_ERROR;
  UText storage = UTEXT_INITIALIZER;
  UText* ut = utext_openUTF8(&storage, text.data(), static_cast<int64_t>(text.size()), &status);
  if (it == nullptr || U_FAILURE(status)) {
    // No ICU data: fall back to one cluster per code point.
    for (std::size_t i = 0; i < text.size();) {
      i += sequence_length(static_cast<unsigned char>(text[i]));
      boundaries.push_back(static_cast<std::uint32_t>(i));
    }
    if (ut != nullptr) utext_close(ut);
    return;
  }
  it->setText(ut, status);
  it->first();
  for (int32_t b = it->next(); b != icu::BreakIterator::DONE; b = it->next()) {
    boundaries.push_back(static_cast<std::uint32_t>(b));
  }
  // Detach the iterator from the UText before it goes out of scope.
  UText empty = UTEXT_INITIALIZER;
  UText* blank = utext_openUTF8(&empty, "", 0, &status);
  it->setText(blank, status);
  utext_close(ut);
  utext_close(blank);
}

}  // namespace winnow::text::unicode

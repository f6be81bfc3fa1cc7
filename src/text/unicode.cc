#include "text/unicode.h"

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

}  // namespace

bool is_other(char32_t cp) {
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK)) != 0 && assigned_by_unicode_8(c);
}

bool is_punctuation(char32_t cp) {
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & U_GC_P_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_numeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0;
}

bool is_nonspacing_mark(char32_t cp) {
  auto c = static_cast<UChar32>(cp);
  return (U_GET_GC_MASK(c) & U_GC_MN_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_mark(char32_t cp) {
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_M_MASK) != 0;
}

bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;  // Join_Control
  auto c = static_cast<UChar32>(cp);
  if ((U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0) return true;
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC);
}

bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void append_lowercase(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
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
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  icu::StringByteSink<std::string> sink(&out);
  normalizer->normalizeUTF8(0, icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), sink,
                            nullptr, status);
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

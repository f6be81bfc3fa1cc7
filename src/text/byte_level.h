// GPT-2's byte-level alphabet and the ByteLevel pre-tokenizer of tokenizer.json
// (GPT-2, RoBERTa, ModernBERT, Qwen2/Qwen3), as the tokenizers crate (0.22)
// does it: every UTF-8 byte of a word is spelled as one printable character, so
// a byte-level BPE vocabulary of 256 base symbols covers any text.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "text/pre_tokenizers.h"

namespace winnow::text {

// Appends the byte-level spelling of `bytes` (any bytes) to `out`, UTF-8
// encoded: each byte becomes the character GPT-2's bytes_to_unicode() assigns
// it. The printable Latin-1 bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for
// themselves, the other 68 become U+0100..U+0143 in byte order (' ' is 'Ġ').
void append_byte_level(std::string& out, std::string_view bytes);

// The GPT-2 pre-tokenization pattern the crate's ByteLevel uses when use_regex
// is true (compiled with Oniguruma, as the crate's SysRegex).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Builds the ByteLevel pre-tokenizer of `spec` (add_prefix_space, default true:
// a space is prepended to every piece that does not start with one;
// use_regex, default true: the GPT-2 pattern splits each piece, matches
// isolated; trim_offsets only moves offsets, which Winnow does not report).
// `where` starts every message.
base::Result<std::unique_ptr<PreTokenizer>> make_byte_level_pre_tokenizer(const nlohmann::json& spec,
                                                                          std::string_view where);

}  // namespace winnow::text

// tokenizer.json loading, then tokenization with whatever loaded: any bytes
// must give a tokenizer or an error naming what is wrong, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto tokenizer = text::Tokenizer::from_json_text(json, {}, "tokenizer.json");
  if (!tokenizer.ok()) {
    if (tokenizer.status().message().empty()) fuzz::invariant_broken("an error without a message");
    return 0;
  }
  for (std::string_view text : {"Hello, world! Ünïcödé ąę 日本語 [SEP] <s>", "", "   ", "a\tb\nc\u00a0d"}) {
    auto single = tokenizer->encode(text, 16);
    if (single.ok() && single->ids.size() > 16) fuzz::invariant_broken("encode() ignored max_length");
    auto pair = tokenizer->encode_pair("what is bm25", text, 12, text::Truncation::kLongestFirst);
    if (pair.ok() && pair->ids.size() > 12) fuzz::invariant_broken("encode_pair() ignored max_length");
  }
  return 0;
}

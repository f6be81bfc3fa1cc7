// Tokenization of arbitrary text (bytes, invalid UTF-8 included) with the
// test data's tokenizers: BERT WordPiece, XLM-R Unigram, and the byte-level
// BPEs of Qwen2/Qwen3 and ModernBERT.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.h"
#include "text/tokenizer.h"

namespace {

const std::vector<winnow::text::Tokenizer>& tokenizers() {
  static const std::vector<winnow::text::Tokenizer> loaded = [] {
    std::vector<winnow::text::Tokenizer> out;
    for (const char* name : {"bert-uncased", "xlmr-unigram", "bpe-qwen", "bpe-modernbert"}) {
      auto t = winnow::text::Tokenizer::load_dir(winnow::fuzz::test_data() / "tokenizers" / name);
      if (!t.ok()) winnow::fuzz::invariant_broken("cannot load the test tokenizer " + std::string(name));
      out.push_back(std::move(*t));
    }
    return out;
  }();
  return loaded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  FuzzedDataProvider input(data, size);
  const std::size_t max_length = input.ConsumeIntegralInRange<std::size_t>(1, 600);
  const bool only_second = input.ConsumeBool();
  const std::string first = input.ConsumeRandomLengthString(2048);
  const std::string second = input.ConsumeRemainingBytesAsString();
  for (const text::Tokenizer& tokenizer : tokenizers()) {
    auto single = tokenizer.encode(second, max_length);
    if (single.ok() && single->ids.size() > max_length) fuzz::invariant_broken("encode() ignored max_length");
    if (single.ok() && single->ids.size() != single->type_ids.size()) fuzz::invariant_broken("ids and type ids differ");
    auto pair = tokenizer.encode_pair(first, second, max_length,
                                      only_second ? text::Truncation::kOnlySecond : text::Truncation::kLongestFirst);
    if (pair.ok() && pair->ids.size() > max_length) fuzz::invariant_broken("encode_pair() ignored max_length");
    if (!pair.ok() && pair.status().message().empty()) fuzz::invariant_broken("an error without a message");
  }
  return 0;
}

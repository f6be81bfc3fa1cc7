// config.json of a cross-encoder: parsed, then loaded against the real tiny
// BERT checkpoint of the test data. A config that disagrees with the weights
// (or asks for absurd sizes) must be refused with an error, never crash or
// allocate without bound.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string_view>

#include "base/files.h"
#include "fuzz_support.h"
#include "model/config.h"
#include "model/cross_encoder.h"

namespace {

// A model directory whose weights and tokenizer are the fixture's and whose
// config.json each input replaces.
const std::filesystem::path& model_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path d = winnow::fuzz::scratch_dir() / "model";
    std::filesystem::create_directories(d);
    const std::filesystem::path fixture = winnow::fuzz::test_data() / "models" / "bert-ce-tiny";
    for (const char* file : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
      std::filesystem::create_symlink(fixture / file, d / file);
    }
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = base::parse_json(text, "config.json");
  if (!json.ok()) return 0;
  auto config = model::parse_model_config(*json, "config.json");
  if (!config.ok()) return 0;
  {
    std::ofstream out(model_dir() / "config.json", std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto loaded = model::CrossEncoder::load(model_dir());
  if (!loaded.ok() && loaded.status().message().empty()) fuzz::invariant_broken("an error without a message");
  return 0;
}

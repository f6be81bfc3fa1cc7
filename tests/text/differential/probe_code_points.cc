#include <iostream>
#include <nlohmann/json.hpp>
#include <fstream>
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/unicode.h"
using namespace winnow::text;
int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::ifstream in(argv[1]);
  auto root = nlohmann::json::parse(in);
  std::vector<std::pair<std::string, std::unique_ptr<Normalizer>>> norms;
  auto mk = [&](const char* k, const std::string& j) { norms.emplace_back(k, make_normalizer(nlohmann::json::parse(j), "x").value()); };
  mk("lower", R"({"type":"Lowercase"})"); mk("nfd", R"({"type":"NFD"})"); mk("nfc", R"({"type":"NFC"})");
  mk("nfkc", R"({"type":"NFKC"})"); mk("nfkd", R"({"type":"NFKD"})"); mk("bert", R"({"type":"BertNormalizer"})");
  norms.emplace_back("xlmr", make_normalizer(root["normalizer"], "x").value());
  mk("strip", R"({"type":"StripAccents"})");
  auto wsp = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"WhitespaceSplit"})"), "x").value();
  auto wp = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"Whitespace"})"), "x").value();
  auto dg = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"Digits","individual_digits":true})"), "x").value();
  nlohmann::json out;
  for (auto& [k, n] : norms) out[k] = nlohmann::json::array();
  out["ws"] = nlohmann::json::array(); out["word"] = nlohmann::json::array(); out["num"] = nlohmann::json::array();
  std::vector<char32_t> cps;
  for (char32_t c = 0x80; c < 0xF0000; ++c) if (c < 0xD800 || c > 0xDFFF) cps.push_back(c);
  const size_t chunk = 4096;
  for (size_t i = 0; i < cps.size(); i += chunk) {
    size_t end = std::min(cps.size(), i + chunk);
    std::string sep = "|";
    for (size_t j = i; j < end; ++j) { unicode::append_utf8(sep, cps[j]); sep += "|"; }
    for (auto& [k, n] : norms) {
      std::string s = sep; n->normalize(s);
      std::vector<std::string> parts; size_t p = 0;
      while (true) { size_t q = s.find('|', p); if (q == std::string::npos) { parts.push_back(s.substr(p)); break; } parts.push_back(s.substr(p, q - p)); p = q + 1; }
      if (parts.size() != end - i + 2) { out[k].push_back({"LEN", i}); continue; }
      for (size_t j = i; j < end; ++j) { std::string one; unicode::append_utf8(one, cps[j]); if (parts[j - i + 1] != one) out[k].push_back({(int)cps[j], parts[j - i + 1]}); }
    }
    for (size_t j = i; j < end; ++j) {
      std::string s = "a"; unicode::append_utf8(s, cps[j]); s += "a";
      std::vector<Split> a = {{s, true}}; wsp->pre_tokenize(a); if (a.size() == 2) out["ws"].push_back((int)cps[j]);
      std::vector<Split> b = {{s, true}}; wp->pre_tokenize(b); if (b.size() == 1) out["word"].push_back((int)cps[j]);
      std::vector<Split> d = {{s, true}}; dg->pre_tokenize(d); if (d.size() == 3) out["num"].push_back((int)cps[j]);
    }
  }
  std::cout << out.dump();
}

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/unicode.h"
using namespace winnow::text;
int main() {
  auto pt = make_pre_tokenizer(nlohmann::json::parse(R"({"type":"Punctuation","behavior":"Isolated"})"), "x").value();
  auto nmn = make_normalizer(nlohmann::json::parse(R"({"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":false,"strip_accents":true,"lowercase":false})"), "x").value();
  auto noth = make_normalizer(nlohmann::json::parse(R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":false,"strip_accents":false,"lowercase":false})"), "x").value();
  std::vector<int> punct, mn, other;
  for (char32_t c = 0x80; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string s = "a"; unicode::append_utf8(s, c); s += "a";
    std::vector<Split> splits = {{s, true}};
    pt->pre_tokenize(splits);
    if (splits.size() == 3) punct.push_back(c);
    std::string one; unicode::append_utf8(one, c);
    std::string x = "|" + one + "|"; nmn->normalize(x); if (x == "||") mn.push_back(c);
    std::string y = "|" + one + "|"; noth->normalize(y); if (y == "||") other.push_back(c);
  }
  nlohmann::json j; j["punct"] = punct; j["mn"] = mn; j["other"] = other;
  std::cout << j.dump();
}

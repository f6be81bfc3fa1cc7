#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include "base/files.h"
#include "text/tokenizer.h"
using namespace winnow;
int main(int argc, char** argv) {
  auto text = base::read_file(argv[1]);
  auto tok = text::Tokenizer::from_json_text(*text);
  if (!tok.ok()) { std::cerr << tok.status().to_string() << "\n"; return 1; }
  std::ifstream in(argv[2]);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto q = nlohmann::json::parse(line);
    base::Result<text::Encoding> r = base::invalid_argument("x");
    if (!q.contains("b")) {
      std::optional<std::size_t> max;
      if (q.contains("max")) max = q["max"].get<std::size_t>();
      r = tok->encode(q["a"].get<std::string>(), max);
    } else {
      r = tok->encode_pair(q["a"].get<std::string>(), q["b"].get<std::string>(), q["max"].get<std::size_t>(),
                           q["strategy"] == "only_second" ? text::Truncation::kOnlySecond : text::Truncation::kLongestFirst);
    }
    nlohmann::json o;
    if (r.ok()) { o["ids"] = r->ids; o["type_ids"] = r->type_ids; } else { o["error"] = r.status().to_string(); }
    std::cout << o.dump() << "\n";
  }
}

// Tokenization speed of the test tokenizers (WordPiece, Unigram, byte-level
// BPE) on the golden texts of tests/data/tokenizers: every text alone, and
// every (query, document) pair as a rerank request tokenizes it (max_length
// 512, longest_first). Byte-level BPE caches merged words, so each run loads
// the tokenizer afresh and times a cold pass (empty cache) and then a warm one.
//
//   winnow_tokenizer_bench --data tests/data/tokenizers [--runs 7] [--threads 1]
//                          [--tokenizers bert-uncased,bpe-qwen]
// One JSON line per (tokenizer, workload, pass): medians over the runs of
// tokens/s (ids produced, special tokens included) and MB/s of input text.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/stopwatch.h"
#include "text/tokenizer.h"

namespace {

using winnow::text::Tokenizer;
using winnow::text::Truncation;

struct Workload {
  std::vector<std::string> texts;                          // singles
  std::vector<std::pair<std::string, std::string>> pairs;  // (query, document)
  std::size_t text_bytes = 0;
  std::size_t pair_bytes = 0;
};

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(1);
  }
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

Workload load_workload(const std::string& dir) {
  Workload w;
  for (const auto& line : read_jsonl(dir + "/tokens.jsonl")) {
    w.texts.push_back(line["text"].get<std::string>());
    w.text_bytes += w.texts.back().size();
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& line : read_jsonl(dir + "/pairs.jsonl")) {
    std::pair<std::string, std::string> pair{line["query"].get<std::string>(), line["document"].get<std::string>()};
    if (seen.insert(pair).second) {
      w.pair_bytes += pair.first.size() + pair.second.size();
      w.pairs.push_back(std::move(pair));
    }
  }
  return w;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Tokenizes the whole workload once on each of `threads` threads; returns the
// ids produced by one thread.
std::size_t pass(const Tokenizer& tokenizer, const Workload& w, bool pairs, int threads) {
  std::vector<std::size_t> ids(static_cast<std::size_t>(threads), 0);
  auto work = [&](std::size_t t) {
    if (pairs) {
      for (const auto& [query, document] : w.pairs) {
        auto r = tokenizer.encode_pair(query, document, 512, Truncation::kLongestFirst);
        if (!r.ok()) {
          std::cerr << r.status().to_string() << "\n";
          std::exit(1);
        }
        ids[t] += r->ids.size();
      }
    } else {
      for (const auto& text : w.texts) {
        auto r = tokenizer.encode(text);
        if (!r.ok()) {
          std::cerr << r.status().to_string() << "\n";
          std::exit(1);
        }
        ids[t] += r->ids.size();
      }
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work, static_cast<std::size_t>(t));
    for (auto& thread : pool) thread.join();
  }
  return ids[0];
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "tests/data/tokenizers";
  std::string names = "bert-uncased,xlmr-unigram,bpe-qwen,bpe-modernbert";
  int runs = 7;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--data") data = argv[i + 1];
    else if (arg == "--tokenizers") names = argv[i + 1];
    else if (arg == "--runs") runs = std::stoi(argv[i + 1]);
    else if (arg == "--threads") threads = std::stoi(argv[i + 1]);
    else {
      std::cerr << "unknown flag " << arg << "\n";
      return 2;
    }
  }
  std::stringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    const std::string dir = data + "/" + name;
    const Workload w = load_workload(dir);
    for (bool pairs : {false, true}) {
      std::vector<double> cold_s, warm_s;
      std::size_t ids = 0;
      for (int run = 0; run < runs; ++run) {
        auto tokenizer = Tokenizer::load_dir(dir);
        if (!tokenizer.ok()) {
          std::cerr << tokenizer.status().to_string() << "\n";
          return 1;
        }
        winnow::base::Stopwatch cold;
        ids = pass(*tokenizer, w, pairs, threads);
        cold_s.push_back(cold.elapsed_ms() / 1000.0);
        winnow::base::Stopwatch warm;
        pass(*tokenizer, w, pairs, threads);
        warm_s.push_back(warm.elapsed_ms() / 1000.0);
      }
      const double bytes = static_cast<double>(pairs ? w.pair_bytes : w.text_bytes) * threads;
      for (int p = 0; p < 2; ++p) {
        const double s = median(p == 0 ? cold_s : warm_s);
        nlohmann::json line = {{"tokenizer", name},
                               {"workload", pairs ? "pairs_512_longest_first" : "texts"},
                               {"pass", p == 0 ? "cold" : "warm"},
                               {"threads", threads},
                               {"items", pairs ? w.pairs.size() : w.texts.size()},
                               {"ids_per_thread", ids},
                               {"median_ms", s * 1000.0},
                               {"runs", runs},
                               {"tokens_per_s", static_cast<double>(ids) * threads / s},
                               {"mb_per_s", bytes / s / 1e6}};
        std::cout << line.dump() << std::endl;
      }
    }
  }
  return 0;
}

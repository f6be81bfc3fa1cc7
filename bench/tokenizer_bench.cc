// Tokenization speed of the test tokenizers (WordPiece, Unigram, byte-level
// BPE) on the golden texts of tests/data/tokenizers: every text alone, and
// every (query, document) pair as a rerank request tokenizes it (max_length
// 512, longest_first). Byte-level BPE caches merged words, so each run loads
// the tokenizer afresh and times a cold pass (empty cache) and then a warm one.
// Runs interleave the tokenizers (run 1 of each, then run 2 of each, ...).
//
//   winnow_tokenizer_bench --data tests/data/tokenizers [--runs 7] [--threads 1]
//                          [--tokenizers bert-uncased,bpe-qwen]
// One JSON line per (tokenizer, workload, pass): medians over the runs of
// tokens/s (ids produced, special tokens included) and MB/s of input text, by
// the wall clock and by the process's CPU time (steadier on a shared machine,
// where the wall clock also counts the time other programs ran).
#include <time.h>

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

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
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
  struct Case {
    std::string name;
    std::string dir;
    Workload workload;
    bool pairs;
    std::vector<double> cold_s, warm_s, cold_cpu_s, warm_cpu_s;
    std::size_t ids = 0;
  };
  std::vector<Case> cases;
  std::stringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    const std::string dir = data + "/" + name;
    Workload w = load_workload(dir);
    for (bool pairs : {false, true}) cases.push_back({name, dir, w, pairs, {}, {}, {}, {}, 0});
  }
  // Runs interleave the tokenizers, so that a busy moment of a shared machine
  // slows them alike instead of one of them.
  for (int run = 0; run < runs; ++run) {
    for (Case& c : cases) {
      auto tokenizer = Tokenizer::load_dir(c.dir);
      if (!tokenizer.ok()) {
        std::cerr << tokenizer.status().to_string() << "\n";
        return 1;
      }
      double cpu = cpu_seconds();
      winnow::base::Stopwatch cold;
      c.ids = pass(*tokenizer, c.workload, c.pairs, threads);
      c.cold_s.push_back(cold.elapsed_ms() / 1000.0);
      c.cold_cpu_s.push_back(cpu_seconds() - cpu);
      cpu = cpu_seconds();
      winnow::base::Stopwatch warm;
      pass(*tokenizer, c.workload, c.pairs, threads);
      c.warm_s.push_back(warm.elapsed_ms() / 1000.0);
      c.warm_cpu_s.push_back(cpu_seconds() - cpu);
    }
  }
  for (const Case& c : cases) {
    const Workload& w = c.workload;
    const double bytes = static_cast<double>(c.pairs ? w.pair_bytes : w.text_bytes) * threads;
    for (int p = 0; p < 2; ++p) {
      const double s = median(p == 0 ? c.cold_s : c.warm_s);
      const double cpu = median(p == 0 ? c.cold_cpu_s : c.warm_cpu_s);
      nlohmann::json line = {{"tokenizer", c.name},
                             {"workload", c.pairs ? "pairs_512_longest_first" : "texts"},
                             {"pass", p == 0 ? "cold" : "warm"},
                             {"threads", threads},
                             {"items", c.pairs ? w.pairs.size() : w.texts.size()},
                             {"ids_per_thread", c.ids},
                             {"median_ms", s * 1000.0},
                             {"runs", runs},
                             {"tokens_per_s", static_cast<double>(c.ids) * threads / s},
                             {"mb_per_s", bytes / s / 1e6},
                             {"median_cpu_ms", cpu * 1000.0},
                             {"tokens_per_cpu_s", static_cast<double>(c.ids) * threads / cpu}};
      std::cout << line.dump() << std::endl;
    }
  }
  return 0;
}

// Times CrossEncoder::score on a workload of shared/bench/workloads.json, and
// prints one JSON line per batch size with the fields of the bench README
// (engine, precision, model, workload, batch, median_ms, ..., gflop).
//
//   winnow_model_bench --model DIR [--workload FILE] [--name short|long]
//                      [--batch 100,16] [--runs 5] [--warmup 1] [--threads 2] [--sorted]
//   winnow_model_bench --model DIR --compare DIR2   # same workload on two checkpoints: max |diff|
//   --pairs FILE.jsonl uses the input_ids / token_type_ids of a golden file
//   (tests/data/golden/*.jsonl) instead of the workload, e.g. for small vocabularies.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/stopwatch.h"
#include "model/cross_encoder.h"

namespace {

using winnow::model::CrossEncoder;
using winnow::model::TokenBatch;

struct Pair {
  std::vector<std::int32_t> ids, types;
};

std::vector<Pair> build_pairs(const nlohmann::json& workloads, const std::string& name, bool bert) {
  const auto& tpl = workloads["pair_templates"][bert ? "bert" : "xlm-roberta"];
  const int cls = tpl["cls"], sep = tpl["sep"];
  const auto query = workloads["query"].get<std::vector<std::int32_t>>();
  const std::size_t max_tokens = workloads["max_pair_tokens"];
  std::vector<Pair> pairs;
  for (const auto& doc_json : workloads["workloads"][name]["docs"]) {
    auto doc = doc_json.get<std::vector<std::int32_t>>();
    Pair p;
    p.ids.push_back(cls);
    p.ids.insert(p.ids.end(), query.begin(), query.end());
    p.ids.push_back(sep);
    if (!bert) p.ids.push_back(sep);  // <s> q </s></s> d </s>
    const std::size_t head = p.ids.size();
    if (head + doc.size() + 1 > max_tokens) doc.resize(max_tokens - head - 1);  // cut the doc tail
    p.ids.insert(p.ids.end(), doc.begin(), doc.end());
    p.ids.push_back(sep);
    p.types.assign(p.ids.size(), 0);
    if (bert) std::fill(p.types.begin() + static_cast<std::ptrdiff_t>(head), p.types.end(), 1);
    pairs.push_back(std::move(p));
  }
  return pairs;
}

// Scores `pairs` (in `order`) in batches of `batch`; scores land in pair order.
bool score_all(const CrossEncoder& model, const std::vector<Pair>& pairs, const std::vector<std::size_t>& order,
               std::size_t batch, std::vector<float>& scores) {
  scores.assign(pairs.size(), 0.0f);
  TokenBatch tb;
  for (std::size_t begin = 0; begin < order.size(); begin += batch) {
    const std::size_t end = std::min(order.size(), begin + batch);
    tb.clear();
    for (std::size_t i = begin; i < end; ++i) tb.add(pairs[order[i]].ids, pairs[order[i]].types);
    auto result = model.score(tb);
    if (!result.ok()) {
      std::cerr << result.status().to_string() << "\n";
      return false;
    }
    for (std::size_t i = begin; i < end; ++i) scores[order[i]] = (*result)[i - begin];
  }
  return true;
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

// CPU seconds used by the whole machine and by this process so far; their
// difference over a run is what other processes took (the README's other_load).
std::pair<double, double> cpu_seconds() {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double machine = (user + nice + system + irq + softirq + steal) / tick;
  std::ifstream self("/proc/self/stat");
  std::string field;
  double self_time = 0;
  for (int i = 1; i <= 15 && self >> field; ++i) {
    if (i == 14 || i == 15) self_time += std::stod(field) / tick;  // utime, stime
  }
  return {machine, self_time};
}

std::unique_ptr<CrossEncoder> load_or_die(const std::string& dir) {
  auto model = CrossEncoder::load(dir);
  if (!model.ok()) {
    std::cerr << model.status().to_string() << "\n";
    std::exit(1);
  }
  return std::move(model).value();
}

}  // namespace

int main(int argc, char** argv) {
  std::string pairs_file, model_dir, compare_dir, workload_file = "/work/shared/bench/workloads.json", name = "short",
                                      batches = "100,16";
  int runs = 5, warmup = 1, threads = 2;
  bool sorted = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--model") model_dir = next();
    else if (arg == "--compare") compare_dir = next();
    else if (arg == "--pairs") pairs_file = next();
    else if (arg == "--workload") workload_file = next();
    else if (arg == "--name") name = next();
    else if (arg == "--batch") batches = next();
    else if (arg == "--runs") runs = std::stoi(next());
    else if (arg == "--warmup") warmup = std::stoi(next());
    else if (arg == "--threads") threads = std::stoi(next());
    else if (arg == "--sorted") sorted = true;
    else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  if (model_dir.empty()) {
    std::cerr << "usage: winnow_model_bench --model DIR [--compare DIR2] [--name short|long] [--batch 100,16] "
                 "[--runs 5] [--warmup 1] [--threads 2] [--sorted]\n";
    return 2;
  }
  omp_set_num_threads(threads);
  nlohmann::json workloads = nlohmann::json::parse(std::ifstream(workload_file));
  winnow::base::Stopwatch load_clock;
  auto model = load_or_die(model_dir);
  const double load_ms = load_clock.elapsed_ms();
  const auto& info = model->info();
  const bool bert = info.layout == "bert";
  std::vector<Pair> pairs;
  if (pairs_file.empty()) {
    pairs = build_pairs(workloads, name, bert);
  } else {
    std::ifstream in(pairs_file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto record = nlohmann::json::parse(line);
      pairs.push_back({record["input_ids"].get<std::vector<std::int32_t>>(),
                       record["token_type_ids"].get<std::vector<std::int32_t>>()});
    }
    name = std::filesystem::path(pairs_file).filename().string();
  }
  std::vector<std::size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  if (sorted) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return pairs[a].ids.size() < pairs[b].ids.size(); });
  }

  if (!compare_dir.empty()) {
    auto other = load_or_die(compare_dir);
    std::vector<float> a, b;
    if (!score_all(*model, pairs, order, pairs.size(), a) || !score_all(*other, pairs, order, pairs.size(), b)) return 1;
    double max_diff = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, double(std::abs(a[i] - b[i])));
    std::cout << nlohmann::json({{"model", model_dir},
                                 {"layout", info.layout},
                                 {"dtype", info.stored_dtype},
                                 {"other", compare_dir},
                                 {"other_layout", other->info().layout},
                                 {"other_dtype", other->info().stored_dtype},
                                 {"pairs", a.size()},
                                 {"score0", a[0]},
                                 {"other_score0", b[0]},
                                 {"max_abs_diff", max_diff},
                                 {"identical", a == b}})
                     .dump()
              << "\n";
    return 0;
  }

  double gflop = 0.0;
  std::size_t tokens = 0;
  for (const auto& p : pairs) {
    const double l = static_cast<double>(p.ids.size());
    tokens += p.ids.size();
    gflop += 2.0 * static_cast<double>(info.encoder_layer_parameter_count) * l +
             4.0 * l * l * static_cast<double>(info.hidden_size * info.num_layers);
  }
  gflop /= 1e9;
  std::stringstream list(batches);
  std::string item;
  while (std::getline(list, item, ',')) {
    const std::size_t batch = std::stoul(item);
    std::vector<float> scores;
    for (int w = 0; w < warmup; ++w) {
      if (!score_all(*model, pairs, order, batch, scores)) return 1;
    }
    std::vector<double> times;
    const auto cpu_before = cpu_seconds();
    winnow::base::Stopwatch wall;
    for (int r = 0; r < runs; ++r) {
      winnow::base::Stopwatch clock;
      if (!score_all(*model, pairs, order, batch, scores)) return 1;
      times.push_back(clock.elapsed_ms());
    }
    const auto cpu_after = cpu_seconds();
    const double other_load = ((cpu_after.first - cpu_before.first) - (cpu_after.second - cpu_before.second)) /
                              (wall.elapsed_ms() / 1000.0);
    std::vector<double> sorted_times = times;
    std::sort(sorted_times.begin(), sorted_times.end());
    const double median = sorted_times[sorted_times.size() / 2];
    std::cout << nlohmann::json({{"engine", "winnow"},
                                 {"precision", "fp32"},
                                 {"model", std::filesystem::path(model_dir).filename().string()},
                                 {"workload", name},
                                 {"batch", batch},
                                 {"sorted", sorted},
                                 {"median_ms", median},
                                 {"min_ms", sorted_times.front()},
                                 {"max_ms", sorted_times.back()},
                                 {"runs", runs},
                                 {"pairs_per_s", pairs.size() / (median / 1000.0)},
                                 {"tokens", tokens},
                                 {"gflop", gflop},
                                 {"gflops_eff", gflop / (median / 1000.0)},
                                 {"peak_rss_mb", peak_rss_mb()},
                                 {"threads", threads},
                                 {"load_ms", load_ms},
                                 {"other_load", std::round(other_load * 100) / 100},
                                 {"score0", scores[0]}})
                     .dump()
              << "\n";
  }
  return 0;
}

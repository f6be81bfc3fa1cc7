// How the engine's batch scheduling (inference::plan_next_batch) shapes
// latency under open-loop load, with the machine's noise taken out: a
// discrete-event simulation of one engine's queue that plans every batch with
// the real planner, under Poisson (or evenly spaced) arrivals of rerank calls.
//
// The cost model is the simplest one: a batch takes time proportional to its
// tokens. The real engine gains a few percent of throughput from shared
// batches (bench/server_load.py: saturation with merged batches vs 1 /
// unloaded latency), which this model leaves out; near saturation those few
// percent decide the queue (see bench/README.md), so read the 90 % figures
// here as the order alone, and the server's as the verdict. Latencies are
// printed in units of the mean call's service time S, and in ms for --service-ms.
//
//   build/winnow-schedule-sim --levels 0.5,0.9 --join 0,1024,8192 --aging 0.5,0
//
// One JSON line per (arrivals, documents, level, join, aging): p50, p99, max
// (medians over --runs), and the 10th / 90th percentiles of the runs' p99: with
// --calls as many as a measurement sends, how much its p99 can stray.
// aging 0 serves calls in arrival order (every call is aged at once).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "inference/batch_planner.h"

namespace {

using winnow::inference::BatchLimits;
using winnow::inference::QueuedSequence;
using winnow::inference::SchedulingLimits;

struct Call {
  double arrival = 0;
  std::vector<std::size_t> tokens;  // per pair
  std::size_t remaining = 0;
};

struct Pending {
  std::size_t call;
  std::size_t pair;
};

// Pair lengths of the load's requests (bench/server_load.py): a query of 6-10
// words and documents of 20-60 words, about 1.3 tokens per word, 3 specials.
std::vector<std::size_t> make_call(std::mt19937_64& rng, std::size_t documents) {
  std::uniform_int_distribution<std::size_t> query_words(6, 10), document_words(20, 60);
  const std::size_t query = query_words(rng) * 13 / 10;
  std::vector<std::size_t> tokens(documents);
  for (std::size_t& t : tokens) t = query + document_words(rng) * 13 / 10 + 3;
  return tokens;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(rank);
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

// Latencies (in S) of `count` calls at `level` x the engine's capacity.
std::vector<double> simulate(const std::vector<std::size_t>& document_mix, double level, bool poisson,
                             std::size_t count, const BatchLimits& limits, const SchedulingLimits& scheduling,
                             std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, document_mix.size() - 1);
  std::vector<Call> calls(count);
  double mean_tokens = 0;
  for (Call& call : calls) {
    call.tokens = make_call(rng, document_mix[pick(rng)]);
    call.remaining = call.tokens.size();
    for (std::size_t t : call.tokens) mean_tokens += static_cast<double>(t);
  }
  mean_tokens /= static_cast<double>(count);
  const double seconds_per_token = 1.0 / mean_tokens;  // the mean call takes 1 (S)
  std::exponential_distribution<double> gap(level);    // level calls per S
  double at = 0;
  for (Call& call : calls) {
    at += poisson ? gap(rng) : 1.0 / level;
    call.arrival = at;
  }

  std::vector<double> latencies;
  latencies.reserve(count);
  std::vector<Pending> queue;
  std::vector<QueuedSequence> view;
  double now = 0;
  std::size_t next = 0;
  while (next < count || !queue.empty()) {
    if (queue.empty()) now = std::max(now, calls[next].arrival);
    for (; next < count && calls[next].arrival <= now; ++next) {
      for (std::size_t p = 0; p < calls[next].tokens.size(); ++p) queue.push_back({next, p});
    }
    view.clear();
    for (const Pending& pending : queue) {
      view.push_back({pending.call, calls[pending.call].tokens[pending.pair], 0, now - calls[pending.call].arrival});
    }
    const std::vector<std::size_t> batch = winnow::inference::plan_next_batch(view, limits, scheduling);
    std::size_t tokens = 0;
    for (std::size_t i : batch) tokens += view[i].tokens;
    now += static_cast<double>(tokens) * seconds_per_token;
    std::vector<bool> taken(queue.size(), false);
    for (std::size_t i : batch) {
      taken[i] = true;
      Call& call = calls[queue[i].call];
      if (--call.remaining == 0) latencies.push_back(now - call.arrival);
    }
    std::size_t position = 0;
    std::erase_if(queue, [&](const Pending&) { return taken[position++]; });
  }
  return latencies;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Latency under load of the engine's batch scheduling, simulated with the real planner"};
  std::vector<double> levels{0.5, 0.9};
  std::vector<std::size_t> joins{0, 1024, 8192};
  std::vector<double> agings{0.5};
  std::vector<std::size_t> documents{20};
  std::string arrivals = "poisson";
  std::size_t count = 20000;
  std::size_t runs = 5;
  double service_ms = 74.0;
  std::size_t budget = BatchLimits{}.token_budget;
  app.add_option("--levels", levels, "load, as a fraction of the engine's capacity")->delimiter(',');
  app.add_option("--join", joins, "SchedulingLimits::join_below_tokens values to compare")->delimiter(',');
  app.add_option("--aging", agings, "SchedulingLimits::aging_seconds values, in seconds (0: arrival order)")
      ->delimiter(',');
  app.add_option("--docs", documents, "documents per call: one value, or a mix drawn uniformly")->delimiter(',');
  app.add_option("--arrivals", arrivals, "poisson, or uniform (evenly spaced)")
      ->check(CLI::IsMember({"poisson", "uniform"}));
  app.add_option("--calls", count, "calls per simulated run");
  app.add_option("--runs", runs, "simulated runs (different seeds); figures are their medians");
  app.add_option("--service-ms", service_ms, "the mean call's service time S, for the ms figures and aging");
  app.add_option("--batch-tokens", budget, "the engine's token budget per batch");
  CLI11_PARSE(app, argc, argv);

  const BatchLimits limits{.token_budget = budget, .max_sequences = BatchLimits{}.max_sequences};
  std::string mix;
  for (std::size_t d : documents) mix += (mix.empty() ? "" : ",") + std::to_string(d);
  for (double level : levels) {
    for (double aging : agings) {
      for (std::size_t join : joins) {
        // Aging is in seconds; the simulation's clock is in S.
        const SchedulingLimits scheduling{.aging_seconds = aging * 1000.0 / service_ms, .join_below_tokens = join};
        std::vector<double> p50, p99, max;
        for (std::size_t run = 0; run < runs; ++run) {
          const std::vector<double> latencies =
              simulate(documents, level, arrivals == "poisson", count, limits, scheduling, 1000 + run);
          p50.push_back(percentile(latencies, 50));
          p99.push_back(percentile(latencies, 99));
          max.push_back(*std::max_element(latencies.begin(), latencies.end()));
        }
        const double m50 = percentile(p50, 50), m99 = percentile(p99, 50), mmax = percentile(max, 50);
        // How far one run's p99 strays: what a measurement of this many calls can tell apart.
        const double p99_low = percentile(p99, 10), p99_high = percentile(p99, 90);
        std::printf(
            "{\"arrivals\": \"%s\", \"docs\": \"%s\", \"level\": %.2f, \"aging_s\": %.3f, \"join_below_tokens\": %zu, "
            "\"calls\": %zu, \"runs\": %zu, \"p50_s\": %.2f, \"p99_s\": %.2f, \"p99_s_p10\": %.2f, \"p99_s_p90\": %.2f, "
            "\"max_s\": %.2f, \"p50_ms\": %.0f, \"p99_ms\": %.0f, \"max_ms\": %.0f}\n",
            arrivals.c_str(), mix.c_str(), level, aging, join, count, runs, m50, m99, p99_low, p99_high, mmax,
            m50 * service_ms, m99 * service_ms, mmax * service_ms);
      }
    }
  }
  return 0;
}

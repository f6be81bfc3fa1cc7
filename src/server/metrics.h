// Prometheus metrics: counters and histograms with labels, rendered in the
// text exposition format (version 0.0.4) for GET /metrics.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace winnow::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // Declares a metric once, before use. `buckets` are histogram upper bounds, ascending.
  void declare_counter(const std::string& name, const std::string& help);
  void declare_gauge(const std::string& name, const std::string& help);
  void declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  // Thread-safe. An undeclared name is a programming error (ignored in release builds).
  void increment(const std::string& name, const Labels& labels, double by = 1);
  void set(const std::string& name, const Labels& labels, double value);
  void observe(const std::string& name, const Labels& labels, double value);

  // The whole registry in Prometheus text format.
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    double value = 0;                 // counter, gauge
    std::vector<std::uint64_t> bucket_counts;  // histogram: per bucket, not cumulative
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;
  };

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Latency buckets in seconds, 1 ms to 60 s.
std::vector<double> latency_buckets();

}  // namespace winnow::server

#include "server/metrics.h"

#include <cassert>
#include <cmath>
#include <cstdint>
#include <sstream>

namespace winnow::server {
namespace {

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_labels(const Labels& labels, const std::string& extra_key = "", const std::string& extra = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    out += k + "=\"" + escape_label_value(v) + "\"";
    first = false;
  }
  if (!extra_key.empty()) {
    if (!first) out += ",";
    out += extra_key + "=\"" + extra + "\"";
  }
  return out + "}";
}

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(12);
  out << v;
  return out.str();
}

}  // namespace

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void Metrics::declare_counter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[name] = Family{Type::kCounter, help, {}, {}};
}

void Metrics::declare_gauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[name] = Family{Type::kGauge, help, {}, {}};
}

void Metrics::declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[name] = Family{Type::kHistogram, help, std::move(buckets), {}};
}

void Metrics::increment(const std::string& name, const Labels& labels, double by) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = families_.find(name);
  assert(it != families_.end() && it->second.type == Type::kCounter);
  if (it == families_.end()) return;
  it->second.series[labels].value += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = families_.find(name);
  assert(it != families_.end() && it->second.type == Type::kGauge);
  if (it == families_.end()) return;
  it->second.series[labels].value = value;
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = families_.find(name);
  assert(it != families_.end() && it->second.type == Type::kHistogram);
  if (it == families_.end()) return;
  Family& family = it->second;
  Series& series = family.series[labels];
  if (series.bucket_counts.empty()) series.bucket_counts.assign(family.buckets.size(), 0);
  for (std::size_t i = 0; i < family.buckets.size(); ++i) {
    if (value <= family.buckets[i]) {
      ++series.bucket_counts[i];
      break;
    }
  }
  series.sum += value;
  ++series.count;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  for (const auto& [name, family] : families_) {
    const char* type = family.type == Type::kCounter ? "counter" : family.type == Type::kGauge ? "gauge" : "histogram";
    out << "# HELP " << name << " " << family.help << "\n# TYPE " << name << " " << type << "\n";
    for (const auto& [labels, series] : family.series) {
      if (family.type != Type::kHistogram) {
        out << name << format_labels(labels) << " " << format_number(series.value) << "\n";
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < family.buckets.size(); ++i) {
        cumulative += series.bucket_counts[i];
        out << name << "_bucket" << format_labels(labels, "le", format_number(family.buckets[i])) << " " << cumulative
            << "\n";
      }
      out << name << "_bucket" << format_labels(labels, "le", "+Inf") << " " << series.count << "\n";
      out << name << "_sum" << format_labels(labels) << " " << format_number(series.sum) << "\n";
      out << name << "_count" << format_labels(labels) << " " << series.count << "\n";
    }
  }
  return out.str();
}

}  // namespace winnow::server

#include "hub/download_progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace winnow::hub {

namespace {

constexpr int kBarWidth = 24;
constexpr std::size_t kMaxNameWidth = 32;

std::string shorten(const std::string& name) {
  if (name.size() <= kMaxNameWidth) return name;
  return "…" + name.substr(name.size() - (kMaxNameWidth - 1));
}

}  // namespace

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  } else {
    std::snprintf(text, sizeof text, bytes < 10 ? "%.2f %s" : "%.1f %s", bytes, kUnits[unit]);
  }
  return text;
}

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 100 * 3600) return "--:--";
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

std::string format_progress_line(const std::string& file, std::uint64_t done, std::uint64_t total, double bytes_per_s,
                                 bool terminal) {
  const bool known = total > 0;
  const double fraction = known ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
  const int percent = static_cast<int>(fraction * 100);
  const std::string sizes = known ? format_bytes(static_cast<double>(done)) + " / " + format_bytes(static_cast<double>(total))
                                  : format_bytes(static_cast<double>(done));
  const std::string speed = format_bytes(bytes_per_s) + "/s";
  const double remaining = known && bytes_per_s > 0 ? static_cast<double>(total - std::min(done, total)) / bytes_per_s : -1;
  const std::string eta = done >= total && known ? "done" : "ETA " + format_eta(remaining);
  char percent_text[8];
  std::snprintf(percent_text, sizeof percent_text, "%3d%%", percent);
  if (terminal) {
    const int filled = static_cast<int>(fraction * kBarWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kBarWidth - filled), '.');
    return shorten(file) + "  [" + bar + "] " + percent_text + "  " + sizes + "  " + speed + "  " + eta;
  }
  std::string line = file + ": " + sizes;
  if (known) line += std::string(" (") + std::to_string(percent) + "%)";
  return line + " at " + speed + ", " + eta;
}

ProgressRenderer::ProgressRenderer(std::FILE* out)
    : ProgressRenderer(out, out != nullptr && ::isatty(::fileno(out)) == 1, std::chrono::seconds(5)) {}

ProgressRenderer::ProgressRenderer(std::FILE* out, bool terminal, std::chrono::milliseconds plain_interval)
    : out_(out), terminal_(terminal), plain_interval_(plain_interval) {}

ProgressRenderer::~ProgressRenderer() {
  if (out_ != nullptr && terminal_ && !current_file_.empty()) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void ProgressRenderer::update(const std::string& file, std::uint64_t done, std::uint64_t total, double bytes_per_s) {
  if (out_ == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  const bool finished = total > 0 && done >= total;
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    // Another file's bar may be in the line: end it before drawing over it.
    if (!current_file_.empty() && current_file_ != file) std::fputc('\n', out_);
    current_file_ = file;
    std::fprintf(out_, "\r%s\x1b[K", format_progress_line(file, done, total, bytes_per_s, true).c_str());
    if (finished) {
      std::fputc('\n', out_);
      current_file_.clear();
    }
  } else {
    const bool first = current_file_ != file;
    if (!first && !finished && now - last_plain_ < plain_interval_) return;
    current_file_ = finished ? std::string() : file;
    last_plain_ = now;
    std::fprintf(out_, "%s\n", format_progress_line(file, done, total, bytes_per_s, false).c_str());
  }
  std::fflush(out_);
}

ProgressCallback ProgressRenderer::callback() {
  return [this](const std::string& file, std::uint64_t done, std::uint64_t total, double bytes_per_s) {
    update(file, done, total, bytes_per_s);
  };
}

}  // namespace winnow::hub

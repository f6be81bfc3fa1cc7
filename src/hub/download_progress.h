// Download progress: the callback the Hub downloader reports to, and a
// renderer for people: a bar with speed and ETA redrawn in place on a
// terminal, plain periodic lines when stderr goes to a log.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

namespace winnow::hub {

// Called as a file downloads: its repo path, bytes on disk so far (a resumed
// download starts above 0), its size (0 if unknown) and the current speed.
// Called from the downloading thread, at most about ten times a second per
// file, and once more with bytes_done == bytes_total when the file is done.
using ProgressCallback =
    std::function<void(const std::string& file, std::uint64_t bytes_done, std::uint64_t bytes_total, double bytes_per_s)>;

// "812 B", "12.3 KB", "8.4 MB", "1.27 GB" (powers of 1000, as the Hub shows sizes).
std::string format_bytes(double bytes);

// "0:07", "3:25", "1:02:03"; "--:--" when unknown or absurd.
std::string format_eta(double seconds);

// One progress line, without the carriage return or newline.
//   terminal: "model.safetensors  [#########...........]  45%  3.8 MB / 8.4 MB  41.2 MB/s  ETA 0:01"
//   plain:    "model.safetensors: 3.8 MB / 8.4 MB (45%) at 41.2 MB/s, ETA 0:01"
std::string format_progress_line(const std::string& file, std::uint64_t done, std::uint64_t total, double bytes_per_s,
                                 bool terminal);

// Thread-safe; the stream must outlive the renderer.
class ProgressRenderer {
 public:
  // Draws on `out`, as a terminal bar when `out` is a TTY.
  explicit ProgressRenderer(std::FILE* out = stderr);
  // For tests and logs: the mode and, for plain lines, how often to print.
  ProgressRenderer(std::FILE* out, bool terminal, std::chrono::milliseconds plain_interval);
  // Ends a bar left unfinished (a failed download) so later output starts on a fresh line.
  ~ProgressRenderer();
  ProgressRenderer(const ProgressRenderer&) = delete;
  ProgressRenderer& operator=(const ProgressRenderer&) = delete;

  void update(const std::string& file, std::uint64_t done, std::uint64_t total, double bytes_per_s);

  // A callback that draws through this renderer, which must outlive it.
  ProgressCallback callback();

 private:
  std::FILE* out_;
  bool terminal_;
  std::chrono::milliseconds plain_interval_;
  std::mutex mu_;
  std::string current_file_;
  std::chrono::steady_clock::time_point last_plain_{};
};

}  // namespace winnow::hub

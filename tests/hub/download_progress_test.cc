#include "hub/download_progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace winnow::hub {
namespace {

TEST(DownloadProgress, FormatsSizesAndEtas) {
  EXPECT_EQ(format_bytes(812), "812 B");
  EXPECT_EQ(format_bytes(12'345), "12.3 KB");
  EXPECT_EQ(format_bytes(8'366'360), "8.37 MB");
  EXPECT_EQ(format_bytes(1'270'000'000), "1.27 GB");
  EXPECT_EQ(format_eta(7), "0:07");
  EXPECT_EQ(format_eta(205), "3:25");
  EXPECT_EQ(format_eta(3723), "1:02:03");
  EXPECT_EQ(format_eta(-1), "--:--");
}

TEST(DownloadProgress, TerminalAndPlainLines) {
  const std::string bar = format_progress_line("model.safetensors", 4'000'000, 8'000'000, 2'000'000, true);
  EXPECT_EQ(bar, "model.safetensors  [############............]  50%  4.00 MB / 8.00 MB  2.00 MB/s  ETA 0:02");
  const std::string plain = format_progress_line("model.safetensors", 4'000'000, 8'000'000, 2'000'000, false);
  EXPECT_EQ(plain, "model.safetensors: 4.00 MB / 8.00 MB (50%) at 2.00 MB/s, ETA 0:02");
  EXPECT_NE(format_progress_line("x", 8, 8, 1, false).find("done"), std::string::npos);
}

std::string render(bool terminal) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  {
    ProgressRenderer renderer(out, terminal, std::chrono::hours(1));
    auto callback = renderer.callback();
    callback("config.json", 10, 10, 100);
    callback("model.safetensors", 100, 1000, 1000);
    callback("model.safetensors", 500, 1000, 1000);  // plain: too soon for another line
    callback("model.safetensors", 1000, 1000, 1000);
  }
  std::fclose(out);
  std::string result(text, size);
  std::free(text);
  return result;
}

TEST(DownloadProgress, TerminalRedrawsInPlaceAndLogsGetPeriodicLines) {
  const std::string terminal = render(true);
  EXPECT_NE(terminal.find("\rmodel.safetensors  ["), std::string::npos);
  EXPECT_NE(terminal.find("\x1b[K"), std::string::npos);
  EXPECT_EQ(std::count(terminal.begin(), terminal.end(), '\n'), 2);  // one per finished file
  const std::string plain = render(false);
  EXPECT_EQ(plain.find('\r'), std::string::npos);
  EXPECT_EQ(plain,
            "config.json: 10 B / 10 B (100%) at 100 B/s, done\n"
            "model.safetensors: 100 B / 1.00 KB (10%) at 1.00 KB/s, ETA 0:01\n"
            "model.safetensors: 1.00 KB / 1.00 KB (100%) at 1.00 KB/s, done\n");
}

}  // namespace
}  // namespace winnow::hub

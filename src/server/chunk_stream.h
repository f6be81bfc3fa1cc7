// An std::istream over chunks pushed by another thread, so a request body can
// be parsed while it is still arriving (NDJSON ingest) with bounded memory.
#pragma once

#include <condition_variable>
#include <deque>
#include <istream>
#include <mutex>
#include <streambuf>
#include <string>

namespace winnow::server {

class ChunkStreamBuf : public std::streambuf {
 public:
  explicit ChunkStreamBuf(std::size_t max_queued_chunks = 16) : max_queued_(max_queued_chunks) {}

  // Producer side. Blocks while the queue is full. Returns false once the
  // consumer has closed the stream (it needs no more input).
  bool push(const char* data, std::size_t size);
  // No more chunks will come.
  void finish();

  // Consumer side: stop reading; a blocked push returns false.
  void close();

 protected:
  int_type underflow() override;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::size_t max_queued_;
  std::string current_;
  bool finished_ = false;
  bool closed_ = false;
};

}  // namespace winnow::server

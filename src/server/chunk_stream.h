// A request body as an std::istream while it is still arriving (NDJSON
// ingest): the connection's I/O thread pushes chunks without ever blocking,
// the handler's worker thread reads them, and memory stays bounded because
// the I/O side stops reading the socket while the queue is full.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <istream>
#include <mutex>
#include <streambuf>
#include <string>

#include "base/status.h"

namespace winnow::server {

class ChunkStreamBuf : public std::streambuf {
 public:
  explicit ChunkStreamBuf(std::size_t max_queued_chunks = 16) : max_queued_(max_queued_chunks) {}

  // Producer side; never blocks. Queues `chunk` (dropped once the consumer
  // closed). Returns false when the queue is full now: push no more until
  // the space callback runs.
  bool push(std::string chunk);
  // Runs on the consumer's thread when a full queue has room again.
  void on_space(std::function<void()> callback);
  // No more chunks. A non-OK `status` says why the body ended before its
  // end: over the limit, timed out, malformed, the client gone.
  void finish(base::Status status = {});

  // Consumer side: stop reading; queued and later chunks are dropped.
  void close();
  bool closed() const;
  // Why the body ended early (OK when it arrived whole or is still arriving).
  base::Status status() const;

 protected:
  int_type underflow() override;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::size_t max_queued_;
  std::string current_;
  std::function<void()> on_space_;
  bool producer_waiting_ = false;
  bool finished_ = false;
  bool closed_ = false;
  base::Status status_;
};

class BodyStream : public std::istream {
 public:
  BodyStream() : std::istream(&buffer_) {}
  ChunkStreamBuf& buffer() { return buffer_; }
  base::Status status() const { return buffer_.status(); }
  // The handler needs no more input: the transport stops reading the body.
  void close() { buffer_.close(); }

 private:
  ChunkStreamBuf buffer_;
};

}  // namespace winnow::server

#include "server/chunk_stream.h"

namespace winnow::server {

bool ChunkStreamBuf::push(const char* data, std::size_t size) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (size == 0) return !closed_;
  changed_.wait(lock, [&] { return closed_ || queue_.size() < max_queued_; });
  if (closed_) return false;
  queue_.emplace_back(data, size);
  changed_.notify_all();
  return true;
}

void ChunkStreamBuf::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
  changed_.notify_all();
}

void ChunkStreamBuf::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  queue_.clear();
  changed_.notify_all();
}

ChunkStreamBuf::int_type ChunkStreamBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return closed_ || finished_ || !queue_.empty(); });
  if (queue_.empty()) return traits_type::eof();
  current_ = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  setg(current_.data(), current_.data(), current_.data() + current_.size());
  return traits_type::to_int_type(*gptr());
}

}  // namespace winnow::server

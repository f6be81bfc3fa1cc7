#include "server/chunk_stream.h"

namespace winnow::server {

bool ChunkStreamBuf::push(std::string chunk) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || finished_) return true;
  if (!chunk.empty()) queue_.push_back(std::move(chunk));
  changed_.notify_all();
  if (queue_.size() < max_queued_) return true;
  producer_waiting_ = true;
  return false;
}

void ChunkStreamBuf::on_space(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_space_ = std::move(callback);
}

void ChunkStreamBuf::finish(base::Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  status_ = std::move(status);
  changed_.notify_all();
}

void ChunkStreamBuf::close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    queue_.clear();
    changed_.notify_all();
    if (producer_waiting_) {
      producer_waiting_ = false;
      wake = on_space_;
    }
  }
  if (wake) wake();
}

bool ChunkStreamBuf::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

base::Status ChunkStreamBuf::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

ChunkStreamBuf::int_type ChunkStreamBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  std::function<void()> wake;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || finished_ || !queue_.empty(); });
    if (queue_.empty()) return traits_type::eof();
    current_ = std::move(queue_.front());
    queue_.pop_front();
    if (producer_waiting_ && queue_.size() < max_queued_) {
      producer_waiting_ = false;
      wake = on_space_;
    }
  }
  // Outside the lock: the callback hands work to the I/O thread.
  if (wake) wake();
  setg(current_.data(), current_.data(), current_.data() + current_.size());
  return traits_type::to_int_type(*gptr());
}

}  // namespace winnow::server

#include "server/worker_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "server/logging.h"

namespace winnow::server {

void lower_thread_priority(int nice) {
  const auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);
  if (errno != 0 || current >= nice) return;
  if (::setpriority(PRIO_PROCESS, tid, nice) != 0) {
    log_event(LogLevel::kWarn, "thread_priority",
              {{"error", std::string("cannot lower a thread's priority: ") + std::strerror(errno)}});
  }
}

WorkerPool::WorkerPool(std::size_t threads, int nice) : nice_(nice) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  ready_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
}

std::size_t WorkerPool::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + running_;
}

void WorkerPool::work() {
  if (nice_ != 0) lower_thread_priority(nice_);
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    try {
      task();
    } catch (const std::exception& e) {
      log_event(LogLevel::kError, "worker_error", {{"error", std::string("task threw: ") + e.what()}});
    } catch (...) {
      log_event(LogLevel::kError, "worker_error", {{"error", "task threw a non-std exception"}});
    }
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
  }
}

}  // namespace winnow::server

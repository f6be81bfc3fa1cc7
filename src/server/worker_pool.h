// The threads route handlers run on: a fixed number (--http-threads), fed in
// arrival order. Handlers block (scoring, SQLite); the connections waiting
// for them do not, as the transport reads them on its own thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace winnow::server {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);
  // Waits for the running tasks; drops those not started.
  ~WorkerPool();

  // Queues a task. Thread-safe. A task must not throw (the transport wraps
  // handlers in Api::run, which catches); one that does is logged and dropped.
  void submit(std::function<void()> task);
  // Tasks queued or running.
  std::size_t pending() const;

 private:
  void work();

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace winnow::server

// A real `winnow serve` process on a loopback port, for end-to-end tests.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace winnow::testing {

class ServerProcess {
 public:
  // Starts `winnow serve --data DIR --port 0 EXTRA...` (with `env` added to
  // the environment) and waits until /ready answers 200.
  ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {},
                std::map<std::string, std::string> env = {});
  ~ServerProcess();  // SIGKILL if still running

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Everything it printed so far (standard output and error), read as it
  // comes so that a busy server never blocks on a full pipe.
  std::string log() const;

  // SIGTERM and wait; returns the exit status.
  int stop();
  // SIGKILL and wait: a crash.
  void kill9();
  // Sends `signal_number` and returns at once.
  void signal(int signal_number);
  // Waits for the process to exit, at most `timeout_seconds`; its exit
  // status, or -1 when it is still running then.
  int wait_exit(double timeout_seconds);

  // A client for this server (new connection settings each call).
  std::unique_ptr<httplib::Client> client(int read_timeout_seconds = 120) const;

 private:
  void start();
  int wait();
  void read_output();

  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  int port_ = 0;
  int out_fd_ = -1;
  mutable std::mutex log_mutex_;
  std::string log_;
  std::thread reader_;
};

struct HttpResult {
  int status = 0;  // 0: no response
  nlohmann::json body;
  std::string raw;
};

// POST/GET/DELETE with a JSON body; the response body parsed when it is JSON.
HttpResult http_post(httplib::Client& client, const std::string& path, const std::string& body,
                     const std::string& content_type = "application/json");
HttpResult http_post(httplib::Client& client, const std::string& path, const nlohmann::json& body);
HttpResult http_get(httplib::Client& client, const std::string& path);
HttpResult http_delete(httplib::Client& client, const std::string& path);

}  // namespace winnow::testing

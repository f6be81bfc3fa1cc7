// A real `winnow serve` process on a loopback port, for end-to-end tests.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace winnow::testing {

class ServerProcess {
 public:
  // Starts `winnow serve --data DIR --port 0 EXTRA...` and waits until /health answers.
  ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {});
  ~ServerProcess();  // SIGKILL if still running

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& log() const { return log_; }

  // SIGTERM and wait; returns the exit status.
  int stop();
  // SIGKILL and wait: a crash.
  void kill9();

  // A client for this server (new connection settings each call).
  std::unique_ptr<httplib::Client> client(int read_timeout_seconds = 120) const;

 private:
  void start();
  int wait();

  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  int out_fd_ = -1;
  std::string log_;
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

#include "support/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/answer_log.h"
#include "support/subprocess.h"

extern char** environ;

namespace winnow::testing {

ServerProcess::ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args,
                             std::map<std::string, std::string> env)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)), env_(std::move(env)) {
  start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill9();
  if (reader_.joinable()) reader_.join();
}

std::string ServerProcess::log() const {
  std::lock_guard<std::mutex> lock(log_mutex_);
  return log_;
}

// Until the process closes its end: standard output and error into log_.
void ServerProcess::read_output() {
  char buffer[8192];
  while (true) {
    ssize_t n = read(out_fd_, buffer, sizeof buffer);
    if (n > 0) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;
    }
  }
}

void ServerProcess::start() {
  // A server may answer (413) and close before a large request body is sent.
  ::signal(SIGPIPE, SIG_IGN);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv = {winnow_binary(), "serve", "--data", data_dir_.string(), "--port", "0"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (!env_.count(entry.substr(0, entry.find('=')))) environment.push_back(entry);
  }
  for (const auto& [key, value] : env_) environment.push_back(key + "=" + value);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  out_fd_ = out[0];
  reader_ = std::thread([this] { read_output(); });

  // The first line says "winnow: serving DIR on http://127.0.0.1:PORT".
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string marker = "http://127.0.0.1:";
  while (port_ == 0) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("winnow serve did not start: " + log());
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      reader_.join();
      throw std::runtime_error("winnow serve exited: " + log());
    }
    const std::string text = log();
    if (auto at = text.find(marker); at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = std::stoi(text.substr(at + marker.size()));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto c = client(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = c->Get("/ready"); r && r->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("winnow serve is not ready: " + log());
}

int ServerProcess::wait() {
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ServerProcess::wait_exit(double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      if (out_fd_ >= 0) close(out_fd_);
      out_fd_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait();
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait();
}

void ServerProcess::signal(int signal_number) {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

std::unique_ptr<httplib::Client> ServerProcess::client(int read_timeout_seconds) const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_read_timeout(read_timeout_seconds, 0);
  c->set_write_timeout(read_timeout_seconds, 0);
  c->set_connection_timeout(5, 0);
  // Every answer this client receives is recorded for the OpenAPI check.
  c->set_logger([](const httplib::Request& request, const httplib::Response& response) {
    record_answer(request.method, request.path, response.status, response.get_header_value("Content-Type"),
                  response.body);
  });
  return c;
}

namespace {

HttpResult to_result(const httplib::Result& r) {
  HttpResult out;
  if (!r) return out;
  out.status = r->status;
  out.raw = r->body;
  out.body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return out;
}

}  // namespace

HttpResult http_post(httplib::Client& client, const std::string& path, const std::string& body,
                     const std::string& content_type) {
  return to_result(client.Post(path.c_str(), body, content_type.c_str()));
}

HttpResult http_post(httplib::Client& client, const std::string& path, const nlohmann::json& body) {
  return http_post(client, path, body.dump());
}

HttpResult http_get(httplib::Client& client, const std::string& path) { return to_result(client.Get(path.c_str())); }

HttpResult http_delete(httplib::Client& client, const std::string& path) {
  return to_result(client.Delete(path.c_str()));
}

}  // namespace winnow::testing

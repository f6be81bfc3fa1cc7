#include "support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>

namespace winnow::testing {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

RawConnection::RawConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  sent_.feed(bytes);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::parse_one(RawResponse* response) {
  while (true) {
    const std::size_t end = pending_.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    RawResponse r;
    const std::string head = pending_.substr(0, end);
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) return false;
    r.status = std::stoi(head.substr(9, 3));
    std::size_t line = head.find("\r\n");
    while (line != std::string::npos) {
      const std::size_t next = head.find("\r\n", line + 2);
      const std::string field = head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
      const std::size_t colon = field.find(':');
      if (colon != std::string::npos) {
        std::string name = field.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      line = next;
    }
    std::size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    if (pending_.size() < end + 4 + length) return false;
    r.body = pending_.substr(end + 4, length);
    pending_.erase(0, end + 4 + length);
    if (r.status >= 100 && r.status < 200) continue;  // 100 Continue
    std::string method, target;
    sent_.next(&method, &target);
    record_answer(method, target, r.status, r.headers.count("content-type") ? r.headers["content-type"] : "", r.body);
    *response = std::move(r);
    return true;
  }
}

std::vector<RawResponse> RawConnection::read_responses(std::size_t count, double timeout_seconds) {
  std::vector<RawResponse> out;
  const double deadline = now_seconds() + timeout_seconds;
  while (out.size() < count) {
    RawResponse r;
    if (parse_one(&r)) {
      out.push_back(std::move(r));
      continue;
    }
    const double left = deadline - now_seconds();
    if (left <= 0 || fd_ < 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) break;
    char buffer[65536];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

RawResponse RawConnection::read_response(double timeout_seconds) {
  auto all = read_responses(1, timeout_seconds);
  return all.empty() ? RawResponse{} : all.front();
}

bool RawConnection::closed_within(double timeout_seconds) {
  const double deadline = now_seconds() + timeout_seconds;
  while (true) {
    const double left = deadline - now_seconds();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) return false;
    char buffer[65536];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
  }
}

RawResponse raw_request(int port, const std::string& request, double timeout_seconds) {
  RawConnection c(port);
  if (!c.connected() || !c.send(request)) return {};
  return c.read_response(timeout_seconds);
}

std::string get_request(const std::string& target, const std::string& headers) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
}

bool can_connect(int port) { return RawConnection(port).connected(); }

}  // namespace winnow::testing

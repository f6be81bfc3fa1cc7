#include "server/http_transport.h"

#include <strings.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <set>
#include <thread>

#include "base/stopwatch.h"
#include "server/chunk_stream.h"
#include "server/logging.h"
#include "server/worker_pool.h"

namespace winnow::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string to_string(beast::string_view s) { return std::string(s.data(), s.size()); }

std::string reason(int status) {
  beast::string_view r = http::obsolete_reason(static_cast<http::status>(status));
  return r.empty() ? "Unknown" : to_string(r);
}

// "0.5", "30": a duration in seconds for messages.
std::string seconds(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(d.count()) / 1000.0);
  return text;
}

// The bytes of a response: status line, headers, body (none for HEAD and 204).
std::string serialize(const Response& response, bool head_request, bool keep_alive, bool http10,
                      const std::string& request_id) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
  const bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
  if (!no_body) {
    if (!response.content_type.empty()) out += "Content-Type: " + response.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  if (!request_id.empty()) out += "X-Request-Id: " + request_id + "\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (http10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!no_body && !head_request) out += response.body;
  return out;
}

}  // namespace

class Connection;

struct HttpTransport::Impl {
  Impl(TransportOptions o, const Api& a) : options(std::move(o)), api(a) {}

  void accept();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  void begin_drain(std::chrono::milliseconds deadline);
  void forget(const std::shared_ptr<Connection>& connection);
  void check_drained();
  void cut_all();
  void finish();

  TransportOptions options;
  const Api& api;
  // Destroyed in reverse order: the workers (joined) before the connections
  // and the io_context they use.
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  asio::steady_timer drain_timer{io};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::set<std::shared_ptr<Connection>> connections;  // the I/O thread's only
  bool draining = false;
  bool finished = false;
  std::size_t cut = 0;
  Clock::time_point last_accept_error{};
  int port = 0;
  std::thread io_thread;
  std::unique_ptr<WorkerPool> workers;
};

// One client connection and the request it is on. Lives on the I/O thread;
// a request's handler runs on a worker and posts its response back.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpTransport::Impl& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), deadline_(server.io) {
    beast::error_code ec;
    tcp::endpoint remote = socket_.remote_endpoint(ec);
    if (!ec) peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  // The first request's head must arrive within the header timeout.
  void start() { read_head(); }

  // The server drains: a connection without a request in progress closes now.
  void drain() {
    if (phase_ == Phase::kIdle || phase_ == Phase::kHead) close();
  }

  // A request is in progress: its head arrived and it is not answered yet.
  bool in_flight() const {
    return phase_ == Phase::kBody || phase_ == Phase::kHandler || phase_ == Phase::kWrite;
  }
  bool lingering() const { return phase_ == Phase::kLinger; }

  // The drain deadline passed with this request unanswered.
  void cut() {
    if (request_) {
      log_event(LogLevel::kWarn, "request_cut",
                {{"request_id", request_->id}, {"method", request_->method}, {"route", route_label()},
                 {"ms", stopwatch_.elapsed_ms()}, {"error", "still running at the drain deadline"}});
    }
    close();
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    deadline_.cancel();
    if (stream_ && !body_done_) {
      body_done_ = true;
      stream_->buffer().finish(base::unavailable("request body: the connection closed before it ended"));
    }
    server_.forget(shared_from_this());
  }

 private:
  enum class Phase { kIdle, kHead, kBody, kHandler, kWrite, kLinger, kClosed };

  // ---- deadlines: one timer, re-armed as the connection changes phase ----

  void arm(std::chrono::milliseconds after) {
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (!ec) self->on_deadline();
    });
  }

  void disarm() { deadline_.expires_at(Clock::time_point::max()); }

  void on_deadline() {
    // A wait that completed just before the timer was re-armed.
    if (deadline_.expiry() > Clock::now() || phase_ == Phase::kClosed) return;
    switch (phase_) {
      case Phase::kIdle:
      case Phase::kLinger:
        break;
      case Phase::kHead:
        if (buffer_.size() > 0) {
          log_event(LogLevel::kWarn, "timeout",
                    {{"peer", peer_}, {"error", "request head not complete within " +
                                                    seconds(server_.options.header_timeout) + " s"}});
        }
        break;
      case Phase::kBody:
      case Phase::kHandler:  // a streaming body stalled while its handler runs
        if (stream_ && !body_done_) {
          body_done_ = true;
          stream_->buffer().finish(base::deadline_exceeded(
              "request body: nothing arrived for " + seconds(server_.options.body_timeout) + " s"));
        }
        log_request(408, "body_timeout", "request body stopped arriving");
        break;
      case Phase::kWrite:
        log_request(status_, "write_timeout", "the client did not read the response");
        break;
      case Phase::kClosed:
        return;
    }
    close();
  }

  // ---- reading a request head ----

  void read_head() {
    phase_ = Phase::kHead;
    arm(server_.options.header_timeout);
    head_parser_.emplace();
    head_parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_head_bytes));
    // The route decides, once known. (Not boost::none: Beast 1.74 compares
    // a Content-Length with an empty optional as over the limit.)
    head_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(socket_, buffer_, *head_parser_,
                            [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                              self->on_head(ec);
                            });
  }

  // Keep-alive: wait for the next request's first byte, at most the idle timeout.
  void wait_idle() {
    phase_ = Phase::kIdle;
    arm(server_.options.idle_timeout);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const beast::error_code& ec) {
      if (self->phase_ != Phase::kIdle) return;
      if (ec) return self->close();
      self->read_head();
    });
  }

  void on_head(const beast::error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return head_error(ec);
    stopwatch_.reset();
    auto& message = head_parser_->get();
    request_ = std::make_shared<Request>();
    Request& request = *request_;
    request.method = to_string(message.method_string());
    request.target = to_string(message.target());
    request.path = request.target.substr(0, request.target.find('?'));
    request.peer = peer_;
    std::size_t fields = 0;
    for (const auto& field : message) {
      request.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
      ++fields;
    }
    std::string_view sent_id = request.header("X-Request-Id");
    request.id = sane_request_id(sent_id) ? std::string(sent_id) : generate_request_id();
    keep_alive_ = message.keep_alive();
    http10_ = message.version() == 10;
    head_request_ = request.method == "HEAD";
    const bool has_body = head_parser_->chunked() || head_parser_->content_length().value_or(0) > 0;
    if (has_body) keep_alive_after_early_answer_ = false;

    if (request.target.size() > server_.options.max_target_bytes) {
      return answer_early(414, base::invalid_argument("request target of " + std::to_string(request.target.size()) +
                                                      " bytes is longer than the limit of " +
                                                      std::to_string(server_.options.max_target_bytes)));
    }
    if (fields > server_.options.max_header_fields) {
      return answer_early(431, base::invalid_argument("request has " + std::to_string(fields) +
                                                      " header fields, more than the limit of " +
                                                      std::to_string(server_.options.max_header_fields)));
    }
    dispatch_ = server_.api.route(request);
    if (dispatch_.answer) {
      Response answer = std::move(*dispatch_.answer);
      if (has_body) keep_alive_ = false;
      return send(std::move(answer));
    }
    const Route& route = *dispatch_.route;
    if (auto length = head_parser_->content_length(); length && *length > dispatch_.body_limit) {
      const std::string what = route.streaming ? "ingest body of " : "request body of ";
      return answer_early(413, base::out_of_range(what + std::to_string(*length) + " bytes is over the limit of " +
                                                  std::to_string(dispatch_.body_limit) +
                                                  (route.streaming ? ": split it into several requests" : "")));
    }
    if (!has_body) {
      head_parser_.reset();
      body_done_ = true;
      if (route.streaming) {  // an empty stream
        stream_ = std::make_shared<BodyStream>();
        stream_->buffer().finish();
        request.stream = stream_.get();
      }
      return run_handler();
    }
    auto expect = message.find(http::field::expect);
    const bool wants_continue =
        expect != message.end() && strncasecmp(expect->value().data(), "100-continue", 12) == 0;
    if (route.streaming) {
      stream_parser_.emplace(std::move(*head_parser_));
      stream_parser_->body_limit(dispatch_.body_limit);
      head_parser_.reset();
      stream_ = std::make_shared<BodyStream>();
      request.stream = stream_.get();
      std::weak_ptr<Connection> weak = shared_from_this();
      asio::io_context& io = server_.io;
      // Runs on the worker that read a chunk off a full queue.
      stream_->buffer().on_space([weak, &io] {
        asio::post(io, [weak] {
          if (auto self = weak.lock()) self->resume_stream();
        });
      });
      phase_ = Phase::kBody;
      if (wants_continue) return send_continue([this] { pump_stream(); });
      return pump_stream();
    }
    body_parser_.emplace(std::move(*head_parser_));
    body_parser_->body_limit(dispatch_.body_limit);
    head_parser_.reset();
    phase_ = Phase::kBody;
    if (wants_continue) return send_continue([this] { read_body(); });
    read_body();
  }

  void head_error(const beast::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();  // the client went away (or a timeout closed the socket)
    }
    keep_alive_ = false;
    if (ec == http::error::header_limit) {
      // No line end in what arrived: the request line alone is too long.
      const char* data = static_cast<const char*>(buffer_.data().data());
      const bool line_ended = std::memchr(data, '\n', buffer_.size()) != nullptr;
      const std::string limit = std::to_string(server_.options.max_head_bytes);
      if (!line_ended) return answer_early(414, base::invalid_argument("request line is longer than " + limit + " bytes"));
      return answer_early(431, base::invalid_argument("request headers are larger than " + limit + " bytes"));
    }
    answer_early(400, base::invalid_argument("malformed request: " + ec.message()));
  }

  // An answer from the transport itself; the connection closes after it
  // unless the request had no body (it is then read whole).
  void answer_early(int status, const base::Status& error) {
    Response response = error_response(error);
    response.status = status;
    keep_alive_ = keep_alive_ && keep_alive_after_early_answer_ && request_ != nullptr;
    send(std::move(response));
  }

  void send_continue(std::function<void()> then) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    arm(server_.options.body_timeout);
    asio::async_write(socket_, asio::buffer(kContinue),
                      [self = shared_from_this(), then = std::move(then)](const beast::error_code& ec, std::size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (ec) return self->close();
                        then();
                      });
  }

  // ---- a buffered body ----

  void read_body() {
    arm(server_.options.body_timeout);
    http::async_read_some(socket_, buffer_, *body_parser_,
                          [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                            self->on_body(ec);
                          });
  }

  void on_body(const beast::error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return body_error(ec);
    if (!body_parser_->is_done()) return read_body();
    request_->body = body_parser_->release().body();
    body_parser_.reset();
    body_done_ = true;
    run_handler();
  }

  void body_error(const beast::error_code& ec) {
    keep_alive_ = false;
    if (ec == http::error::body_limit) {
      const std::string what = dispatch_.route->streaming ? "ingest body" : "request body";
      return answer_early(413, base::out_of_range(what + " is over the limit of " +
                                                  std::to_string(dispatch_.body_limit) + " bytes" +
                                                  (dispatch_.route->streaming ? ": split it into several requests" : "")));
    }
    if (ec == http::error::partial_message || ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      log_request(499, "client_closed", "the client closed the connection before the body ended");
      return close();
    }
    answer_early(400, base::invalid_argument("malformed request body: " + ec.message()));
  }

  // ---- a streamed body (NDJSON ingest) ----

  char* chunk() {
    if (!chunk_) chunk_.reset(new char[kChunkBytes]);
    return chunk_.get();
  }

  void pump_stream() {
    arm(server_.options.body_timeout);
    stream_parser_->get().body().data = chunk();
    stream_parser_->get().body().size = kChunkBytes;
    reading_ = true;
    http::async_read_some(socket_, buffer_, *stream_parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->reading_ = false;
                            if (ec == http::error::need_buffer) ec = {};
                            self->on_stream(ec);
                          });
  }

  void on_stream(const beast::error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kLinger) return linger_read();
    if (handler_done_ || body_done_) return;  // answered already; the write closes
    if (ec) {
      base::Status why;
      if (ec == http::error::body_limit) {
        why = base::out_of_range("ingest body over the limit of " + std::to_string(dispatch_.body_limit) + " bytes");
      } else if (ec == http::error::partial_message || ec == http::error::end_of_stream || ec == asio::error::eof ||
                 ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        why = base::unavailable("request body: the client closed the connection before it ended");
      } else {
        why = base::invalid_argument("malformed request body: " + ec.message());
      }
      body_done_ = true;
      keep_alive_ = false;
      stream_->buffer().finish(why);
      if (handler_started_) return disarm();  // the handler answers with `why`
      if (why.code() == base::StatusCode::kUnavailable) {
        log_request(499, "client_closed", why.message());
        return close();
      }
      return body_error(ec);
    }
    const std::size_t n = kChunkBytes - stream_parser_->get().body().size;
    bool room = true;
    if (n > 0) room = stream_->buffer().push(std::string(chunk(), n));
    if (stream_parser_->is_done()) {
      body_done_ = true;
      stream_->buffer().finish();
    }
    // The handler starts with the first bytes, so a client that sends only a
    // head holds no worker.
    if (!handler_started_ && (n > 0 || body_done_)) run_handler();
    if (body_done_) {
      if (phase_ == Phase::kHandler) disarm();
      return;
    }
    if (!room) {
      paused_ = true;  // the worker is behind: stop reading until it catches up
      if (phase_ == Phase::kHandler) disarm();
      return;
    }
    pump_stream();
  }

  void resume_stream() {
    if (phase_ == Phase::kClosed || handler_done_ || body_done_ || !paused_) return;
    paused_ = false;
    pump_stream();
  }

  // ---- the handler ----

  void run_handler() {
    handler_started_ = true;
    const Route& route = *dispatch_.route;
    if (route.lane == Lane::kInline) {
      handler_done_ = true;
      return send(server_.api.run(route, *request_));
    }
    if (std::optional<Response> refused = server_.api.admit(route, *request_)) {
      handler_done_ = true;  // refused before a worker saw it: no parsing, no tokenizing
      return send(std::move(*refused));
    }
    phase_ = Phase::kHandler;
    if (!stream_ || body_done_) disarm();  // a streaming body keeps its timeout
    std::weak_ptr<Connection> weak = shared_from_this();
    if (route.scoring && !stream_) watch_client();
    server_.workers->submit([self = shared_from_this(), request = request_, &route, &api = server_.api,
                             &io = server_.io] {
      Response response;
      try {
        response = api.run(route, *request);
      } catch (...) {
        response = error_response(base::internal_error("unexpected error while answering"));
      }
      asio::post(io, [self, response = std::move(response)]() mutable { self->on_handler_done(std::move(response)); });
    });
  }

  // While a scoring handler runs, the socket is watched without reading it:
  // when the client closes its connection (or half-closes it) the request is
  // cancelled, and its pairs leave the model's queue. Bytes of a pipelined
  // request end the watch; they wait for their turn.
  void watch_client() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this(), watched = request_](const beast::error_code& ec) {
                         if (self->phase_ != Phase::kHandler || self->request_ != watched) return;
                         beast::error_code available_error;
                         const std::size_t available = self->socket_.available(available_error);
                         if (!ec && !available_error && available > 0) return;
                         watched->cancelled->store(true);
                         self->keep_alive_ = false;
                       });
  }

  void on_handler_done(Response response) {
    handler_done_ = true;
    if (phase_ == Phase::kClosed) {
      status_ = response.status;
      return;
    }
    if (!body_done_) keep_alive_ = false;  // the handler did not read the whole body
    send(std::move(response));
  }

  // ---- writing the answer ----

  void send(Response response) {
    phase_ = Phase::kWrite;
    if (server_.draining) keep_alive_ = false;
    status_ = response.status;
    error_code_ = response.error_code;
    error_message_ = response.error_message;
    if (request_) server_.api.add_cors_headers(*request_, response);
    const std::string id = request_ ? request_->id : generate_request_id();
    if (!request_) early_id_ = id;
    out_ = serialize(response, head_request_, keep_alive_, http10_, id);
    written_ = 0;
    write_some();
  }

  void write_some() {
    arm(server_.options.body_timeout);
    socket_.async_write_some(asio::buffer(out_.data() + written_, out_.size() - written_),
                             [self = shared_from_this()](const beast::error_code& ec, std::size_t n) {
                               self->on_write(ec, n);
                             });
  }

  void on_write(const beast::error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      log_request(status_, "write_failed", ec.message());
      return close();
    }
    written_ += n;
    if (written_ < out_.size()) return write_some();
    log_request(status_, error_code_, error_message_);
    if (!keep_alive_) return linger();
    next_request();
  }

  void next_request() {
    request_.reset();
    stream_.reset();
    stream_parser_.reset();
    body_parser_.reset();
    dispatch_ = {};
    body_done_ = handler_started_ = handler_done_ = paused_ = head_request_ = logged_ = false;
    keep_alive_after_early_answer_ = true;
    status_ = 0;
    error_code_.clear();
    error_message_.clear();
    out_.clear();
    if (server_.draining) return close();
    if (buffer_.size() > 0) return read_head();  // a pipelined request is waiting
    wait_idle();
  }

  // After an answer with "Connection: close": stop sending, and read what the
  // client still sends for a moment, so that closing with unread data (which
  // resets the connection) cannot destroy the answer before the client reads it.
  void linger() {
    phase_ = Phase::kLinger;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    arm(std::chrono::milliseconds(2000));
    buffer_.consume(buffer_.size());
    server_.check_drained();
    if (!reading_) linger_read();
  }

  void linger_read() {
    reading_ = true;
    socket_.async_read_some(asio::buffer(chunk(), kChunkBytes), [self = shared_from_this()](const beast::error_code& ec, std::size_t n) {
      self->reading_ = false;
      if (self->phase_ == Phase::kClosed) return;
      self->lingered_ += n;
      if (ec || self->lingered_ > (std::size_t{4} << 20)) return self->close();
      self->linger_read();
    });
  }

  // ---- the request log ----

  std::string route_label() const { return dispatch_.route ? dispatch_.route->pattern : "-"; }

  void log_request(int status, const std::string& error, const std::string& message) {
    if (logged_) return;
    logged_ = true;
    nlohmann::ordered_json fields;
    if (request_) {
      fields["request_id"] = request_->id;
      fields["method"] = request_->method;
      fields["route"] = route_label();
      fields["path"] = request_->path;
    } else {
      fields["request_id"] = early_id_;
      fields["method"] = "-";
      fields["route"] = "-";
    }
    fields["status"] = status;
    fields["ms"] = std::round(stopwatch_.elapsed_ms() * 100) / 100;
    fields["peer"] = peer_;
    if (request_) {
      for (auto it = request_->log_fields().begin(); it != request_->log_fields().end(); ++it) {
        fields[it.key()] = it.value();
      }
    }
    if (!error.empty()) fields["error"] = error;
    // Error messages may quote the request; only 5xx ones (ours) by default.
    if (!message.empty() && (status >= 500 || server_.options.log_bodies || !request_)) fields["message"] = message;
    if (server_.options.log_bodies && request_) {
      fields["target"] = request_->target;
      if (!request_->body.empty()) fields["body"] = request_->body.substr(0, 64 << 10);
    }
    log_event(status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request", fields);
  }

  HttpTransport::Impl& server_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  std::string peer_;
  Phase phase_ = Phase::kHead;

  std::optional<http::request_parser<http::empty_body>> head_parser_;
  std::optional<http::request_parser<http::string_body>> body_parser_;
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;
  std::shared_ptr<Request> request_;  // shared with the worker running its handler
  std::shared_ptr<BodyStream> stream_;
  Dispatch dispatch_;
  base::Stopwatch stopwatch_;
  // Streamed bodies and lingering closes read into it; allocated on first use.
  std::unique_ptr<char[]> chunk_;
  static constexpr std::size_t kChunkBytes = 64 << 10;

  bool keep_alive_ = true;
  bool keep_alive_after_early_answer_ = true;
  bool http10_ = false;
  bool head_request_ = false;
  bool body_done_ = false;
  bool handler_started_ = false;
  bool handler_done_ = false;
  bool paused_ = false;
  bool reading_ = false;
  std::size_t lingered_ = 0;
  bool logged_ = false;  // this request's line is written
  std::string early_id_;

  int status_ = 0;
  std::string error_code_;
  std::string error_message_;
  std::string out_;
  std::size_t written_ = 0;
};

// ---- the listener and the drain ----

void HttpTransport::Impl::accept() {
  acceptor.async_accept(io, [this](const beast::error_code& ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void HttpTransport::Impl::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Out of file descriptors, most likely: wait a little rather than spin.
    if (Clock::now() - last_accept_error > std::chrono::seconds(1)) {
      last_accept_error = Clock::now();
      log_event(LogLevel::kError, "accept_failed", {{"error", ec.message()}});
    }
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](const beast::error_code& wait_ec) {
      if (!wait_ec && acceptor.is_open()) accept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto connection = std::make_shared<Connection>(*this, std::move(socket));
  connections.insert(connection);
  connection->start();
  accept();
}

void HttpTransport::Impl::begin_drain(std::chrono::milliseconds deadline) {
  if (finished) return;
  if (draining) return cut_all();  // a second signal: stop now
  draining = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  std::vector<std::shared_ptr<Connection>> all(connections.begin(), connections.end());
  for (const auto& c : all) c->drain();
  drain_timer.expires_after(deadline);
  drain_timer.async_wait([this](const beast::error_code& ec) {
    if (!ec) cut_all();
  });
  check_drained();
}

void HttpTransport::Impl::forget(const std::shared_ptr<Connection>& connection) {
  connections.erase(connection);
  check_drained();
}

void HttpTransport::Impl::check_drained() {
  if (!draining || finished) return;
  for (const auto& c : connections) {
    if (!c->lingering()) return;
  }
  finish();
}

void HttpTransport::Impl::cut_all() {
  if (finished) return;
  std::vector<std::shared_ptr<Connection>> all(connections.begin(), connections.end());
  for (const auto& c : all) {
    if (c->in_flight()) {
      ++cut;
      c->cut();
    }
  }
  finish();
}

void HttpTransport::Impl::finish() {
  finished = true;
  drain_timer.cancel();
  std::vector<std::shared_ptr<Connection>> all(connections.begin(), connections.end());
  for (const auto& c : all) c->close();
  work.reset();
  io.stop();
}

HttpTransport::HttpTransport(TransportOptions options, const Api& api)
    : impl_(std::make_unique<Impl>(std::move(options), api)) {}

HttpTransport::~HttpTransport() {
  if (impl_->io_thread.joinable()) {
    drain(std::chrono::milliseconds(0));
    impl_->io_thread.join();
  }
  impl_->workers.reset();
}

base::Status HttpTransport::bind() {
  const std::string where = impl_->options.host + ":" + std::to_string(impl_->options.port);
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) {
    // A host name: resolve it once.
    tcp::resolver resolver(impl_->io);
    auto results = resolver.resolve(impl_->options.host, std::to_string(impl_->options.port), ec);
    if (ec || results.empty()) return base::failed_precondition("cannot listen on " + where + ": " + ec.message());
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, static_cast<std::uint16_t>(impl_->options.port));
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return base::failed_precondition("cannot listen on " + where + " (in use, or not an address of this machine): " +
                                     ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  return {};
}

int HttpTransport::port() const { return impl_->port; }

void HttpTransport::start() {
  impl_->workers = std::make_unique<WorkerPool>(std::max<std::size_t>(impl_->options.workers, 1));
  impl_->work.emplace(impl_->io.get_executor());
  impl_->accept();
  impl_->io_thread = std::thread([impl = impl_.get()] {
    while (!impl->finished) {
      try {
        impl->io.run();
        break;
      } catch (const std::exception& e) {
        // A bug in a completion handler: log it and keep serving the others.
        log_event(LogLevel::kError, "io_error", {{"error", e.what()}});
      }
    }
  });
}

DrainOutcome HttpTransport::wait() {
  if (impl_->io_thread.joinable()) impl_->io_thread.join();
  return {impl_->cut};
}

void HttpTransport::drain(std::chrono::milliseconds deadline) {
  asio::post(impl_->io, [impl = impl_.get(), deadline] { impl->begin_drain(deadline); });
}

}  // namespace winnow::server

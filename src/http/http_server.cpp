#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include <atomic>
#include <unordered_map>

namespace stockwatch::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

Response make_response(unsigned status, std::string body, std::string_view content_type) {
  Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && beast::iequals(text.substr(0, prefix.size()), prefix);
}

std::optional<ListenAddress> parse_listen(std::string_view listen) {
  ListenAddress out;
  std::string_view port;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return std::nullopt;
    }
    out.host = std::string(listen.substr(1, close - 1));
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    out.host = std::string(listen.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs [...]
    port = listen.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  out.port = static_cast<unsigned short>(value);
  if (out.host != "localhost") {
    boost::system::error_code ec;
    (void)asio::ip::make_address(out.host, ec);
    if (ec) return std::nullopt;
  }
  return out;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

namespace {
constexpr std::size_t kPiece = 64 * 1024;
// How much of a refused body is read and dropped before closing anyway.
constexpr std::uint64_t kLingerBytes = 64ull * 1024 * 1024;
}  // namespace

class Session;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, ServerOptions o, Handler& h)
      : ioc(io), options(std::move(o)), handler(h), acceptor(io), accept_pause(io) {}
  // Closes the oldest connection, among the ordinary ones or the reserve,
  // that holds its slot without a request under way
  // (Session::idle_holder), to make room for a new one; false when there
  // is none.
  bool make_room(bool reserve);
  [[nodiscard]] std::size_t open(bool reserve) const;
  asio::io_context& ioc;
  ServerOptions options;
  Handler& handler;
  tcp::acceptor acceptor;
  asio::steady_timer accept_pause;   // after a failed accept (EMFILE, ENFILE, ...)
  bool stopped = false;
  std::uint64_t accepted = 0;   // numbers sessions in the order they came
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  void do_accept();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Server::Impl> server, std::uint64_t number,
          bool reserve)
      : reserve_(reserve),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        delay_(socket_.get_executor()),
        number_(number),
        server_(std::move(server)),
        piece_(new char[kPiece]) {
    boost::system::error_code ec;
    const auto ep = socket_.remote_endpoint(ec);
    if (!ec) {
      remote_ = ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                                     : ep.address().to_string() + ":" + std::to_string(ep.port());
    }
  }

  ~Session() {
    if (route_.sink) route_.sink->abort();
  }

  void start(bool over_capacity) {
    if (over_capacity) {
      awaiting_first_ = false;
      label_ = "over_capacity";
      keep_alive_ = false;
      send(make_response(503, "too many connections; try again shortly\n"));
      return;
    }
    read_header();
  }

  // Why closing this connection loses no work, or nullptr when it would:
  // it never sent a byte, or it stalls part-way through a request head, or
  // it waits out a throttled refusal (Route::delay). A connection between
  // two requests, reading a body or writing an answer keeps its slot.
  [[nodiscard]] const char* idle_holder() {
    if (!socket_.is_open()) return nullptr;
    if (delaying_) return "it was waiting out a refusal";
    if (!reading_head_) return nullptr;
    boost::system::error_code ec;
    const bool got_some = buffer_.size() > 0 || (head_parser_ && head_parser_->got_some()) ||
                          socket_.available(ec) > 0;
    if (awaiting_first_ && !got_some) return "it sent nothing";
    if (got_some) return "its request header was incomplete";
    return nullptr;
  }
  [[nodiscard]] std::uint64_t number() const { return number_; }
  // Holds one of the reserve slots (ServerOptions::reserve_connections).
  [[nodiscard]] bool reserve() const { return reserve_; }
  [[nodiscard]] const std::string& remote() const { return remote_; }

  void close() {
    disarm();
    delay_.cancel();
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  // The read/write deadline. beast::tcp_stream closes the socket when its
  // timer expires, which leaves no way to answer 408; this one only
  // cancels the pending operation, which then completes with
  // operation_aborted and is reported as beast::error::timeout by
  // checked().
  void arm() {
    const std::uint64_t generation = ++deadline_generation_;
    timed_out_ = false;
    deadline_.expires_after(reserve_ ? std::min(options().read_timeout, options().reserve_timeout)
                                     : options().read_timeout);
    deadline_.async_wait([weak = weak_from_this(), generation](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->deadline_generation_ != generation) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->socket_.cancel(ignored);
    });
  }
  void disarm() {
    ++deadline_generation_;
    deadline_.cancel();
  }
  beast::error_code checked(beast::error_code ec) {
    if (timed_out_ && ec == asio::error::operation_aborted) return beast::error::timeout;
    return ec;
  }

  const ServerOptions& options() const { return server_->options; }
  Handler& handler() { return server_->handler; }

  void read_header() {
    head_parser_.emplace();
    head_parser_->header_limit(static_cast<std::uint32_t>(options().header_limit));
    head_parser_->body_limit(boost::none);
    label_.clear();
    head_ = {};
    unread_body_ = false;
    reading_head_ = true;
    arm();
    bhttp::async_read_header(socket_, buffer_, *head_parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(self->checked(ec));
                             });
  }

  void on_header(beast::error_code ec) {
    awaiting_first_ = false;
    reading_head_ = false;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
        return close();
      }
      if (ec == beast::error::timeout) {
        // Idle keep-alive connections end quietly; a header that never
        // finished is answered.
        if (buffer_.size() == 0) return close();
        label_ = "timeout";
        keep_alive_ = false;
        return send(make_response(408, "the request header did not arrive in time\n"));
      }
      keep_alive_ = false;
      if (ec == bhttp::error::header_limit) {
        label_ = "header_too_large";
        return send(make_response(431, "the request header is larger than " +
                                           std::to_string(options().header_limit) + " bytes\n"));
      }
      label_ = "bad_request";
      return send(make_response(400, "malformed HTTP request: " + ec.message() + "\n"));
    }
    head_ = head_parser_->get().base();
    if (reserve_ && !handler().reserved(head_)) {
      label_ = "over_capacity";
      keep_alive_ = false;
      unread_body_ = !head_parser_->is_done();
      return send(make_response(503, "too many connections; try again shortly\n"));
    }
    route_ = handler().route(head_, remote_);
    label_ = route_.label;
    if (route_.response) {
      // A body the client means to send is not read: close afterwards.
      keep_alive_ = head_parser_->keep_alive() && head_parser_->is_done();
      unread_body_ = !head_parser_->is_done();
      if (route_.delay.count() > 0) {
        delaying_ = true;
        delay_.expires_after(route_.delay);
        delay_.async_wait([self = shared_from_this()](beast::error_code wec) {
          self->delaying_ = false;
          if (wec) {   // the connection was closed meanwhile
            self->handler().on_done(self->label_, 0, self->head_, self->remote_);
            return;
          }
          self->send(std::move(*self->route_.response));
        });
        return;
      }
      return send(std::move(*route_.response));
    }
    keep_alive_ = head_parser_->keep_alive();
    if (const auto length = head_parser_->content_length(); length && *length > route_.body_limit) {
      if (route_.sink) route_.sink->abort();
      route_.sink.reset();
      keep_alive_ = false;
      unread_body_ = true;
      return send(make_response(413, "the request body is larger than " +
                                         std::to_string(route_.body_limit) + " bytes\n"));
    }
    const auto expect = head_[bhttp::field::expect];
    if (!expect.empty() && beast::iequals(expect, "100-continue")) {
      continue_.emplace(bhttp::status::continue_, head_.version());
      arm();
      bhttp::async_write(socket_, *continue_,
                         [self = shared_from_this()](beast::error_code wec, std::size_t) {
                           self->continue_.reset();
                           if (wec) return self->fail_body(self->checked(wec));
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    if (route_.sink) {
      body_parser_.emplace(std::move(*head_parser_));
      body_parser_->body_limit(route_.body_limit);
      // An empty body (Content-Length: 0) is complete already: reading
      // would wait for bytes the client never sends.
      if (body_parser_->is_done()) {
        auto sink = std::move(route_.sink);
        return send(sink->finish());
      }
      return read_piece();
    }
    if (route_.deferred) {
      if (head_parser_->is_done()) return defer(std::string());
      return read_whole_body([](Session& self, std::string body) { self.defer(std::move(body)); });
    }
    if (!route_.buffered) {
      keep_alive_ = false;
      unread_body_ = !head_parser_->is_done();
      return send(make_response(500, "the route has no way to answer\n"));
    }
    read_whole_body([](Session& self, std::string body) {
      self.send(self.route_.buffered(std::move(body)));
    });
  }

  // Reads the whole (small) body, up to the route's limit, then calls `then`.
  void read_whole_body(void (*then)(Session&, std::string)) {
    string_parser_.emplace(std::move(*head_parser_));
    string_parser_->body_limit(route_.body_limit);
    arm();
    bhttp::async_read(socket_, buffer_, *string_parser_,
                      [self = shared_from_this(), then](beast::error_code ec, std::size_t) {
                        ec = self->checked(ec);
                        if (ec) return self->fail_body(ec);
                        auto body = std::move(self->string_parser_->get().body());
                        self->string_parser_.reset();
                        then(*self, std::move(body));
                      });
  }

  // Hands the request to its deferred handler; the reply comes back
  // through this connection's executor, at most once.
  void defer(std::string body) {
    disarm();
    auto handler = std::move(route_.deferred);
    auto once = std::make_shared<std::atomic<bool>>(false);
    Reply reply = [self = shared_from_this(), once](Response res) {
      if (once->exchange(true)) return;
      auto ex = self->socket_.get_executor();
      asio::post(ex, [self, res = std::move(res)]() mutable {
        if (!self->socket_.is_open()) {
          self->handler().on_done(self->label_, 0, self->head_, self->remote_);
          return;
        }
        self->send(std::move(res));
      });
    };
    handler(std::move(body), std::move(reply));
  }

  void read_piece() {
    auto& body = body_parser_->get().body();
    body.data = piece_.get();
    body.size = kPiece;
    arm();
    bhttp::async_read_some(socket_, buffer_, *body_parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_piece(self->checked(ec));
                           });
  }

  void on_piece(beast::error_code ec) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return fail_body(ec);
    const std::size_t got = kPiece - body_parser_->get().body().size;
    if (got > 0) {
      if (auto refused = route_.sink->on_data(std::string_view(piece_.get(), got))) {
        route_.sink->abort();
        route_.sink.reset();
        keep_alive_ = false;
        unread_body_ = !body_parser_->is_done();
        return send(std::move(*refused));
      }
    }
    if (body_parser_->is_done()) {
      auto sink = std::move(route_.sink);
      return send(sink->finish());
    }
    read_piece();
  }

  // After refusing a body the client is still sending: stop writing, then
  // read and drop what it sends until it closes (or goes quiet for
  // read_timeout, or sends kLingerBytes). Closing with its data unread
  // would reset the connection, and a client still sending would see the
  // reset instead of the answer.
  void linger() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    drain();
  }
  void drain() {
    arm();
    socket_.async_read_some(asio::buffer(piece_.get(), kPiece),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerBytes) return self->close();
                              self->drain();
                            });
  }

  // The body did not arrive whole.
  void fail_body(beast::error_code ec) {
    if (route_.sink) {
      route_.sink->abort();
      route_.sink.reset();
    }
    keep_alive_ = false;
    if (ec == bhttp::error::body_limit) {
      unread_body_ = true;
      return send(make_response(413, "the request body is larger than " +
                                         std::to_string(route_.body_limit) + " bytes\n"));
    }
    if (ec == beast::error::timeout) {
      spdlog::warn("http {}: {} {}: the client stopped sending the body; upload discarded",
                   remote_, std::string(head_.method_string()), std::string(head_.target()));
    } else if (ec != asio::error::operation_aborted) {
      spdlog::info("http {}: {} {}: the body did not arrive whole ({}); upload discarded", remote_,
                   std::string(head_.method_string()), std::string(head_.target()), ec.message());
    }
    handler().on_done(label_, 0, head_, remote_);
    close();
  }

  void send(Response res) {
    if (reserve_) keep_alive_ = false;   // the slot is for one answer
    res_ = std::move(res);
    res_.version(head_.version() ? head_.version() : 11);
    res_.keep_alive(keep_alive_);
    res_.set(bhttp::field::server, "stockwatch");
    const auto status = res_.result();
    if (bhttp::to_status_class(status) == bhttp::status_class::informational ||
        status == bhttp::status::no_content || status == bhttp::status::not_modified) {
      // Never a body, and so no Content-Length either (RFC 9110, 8.6).
      res_.body().clear();
      res_.content_length(boost::none);
      res_.chunked(false);
    } else {
      res_.prepare_payload();
    }
    if (head_.method() == bhttp::verb::head && !res_.body().empty()) {
      // The headers of a GET, its Content-Length included, without its
      // body: a body here would be read as the next response.
      const auto length = res_.body().size();
      res_.body().clear();
      res_.content_length(length);
    }
    arm();
    bhttp::async_write(socket_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->handler().on_done(self->label_, self->res_.result_int(), self->head_, self->remote_);
      self->route_ = Route{};
      if (ec) return self->close();
      if (!self->keep_alive_) return self->unread_body_ ? self->linger() : self->close();
      self->read_header();
    });
  }

  const bool reserve_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  asio::steady_timer delay_;      // Route::delay
  std::uint64_t number_;
  bool awaiting_first_ = true;    // no request head has arrived yet
  bool reading_head_ = false;     // waiting for a request head
  bool delaying_ = false;         // waiting out Route::delay
  std::uint64_t deadline_generation_ = 0;
  bool timed_out_ = false;
  std::shared_ptr<Server::Impl> server_;
  beast::flat_buffer buffer_;
  std::unique_ptr<char[]> piece_;
  std::string remote_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> head_parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> body_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> string_parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  RequestHead head_;
  Route route_;
  std::string label_;
  bool keep_alive_ = false;
  bool unread_body_ = false;      // the response refused a body still on its way
  std::uint64_t lingered_ = 0;
  Response res_;
};

void Server::Impl::do_accept() {
  acceptor.async_accept(ioc, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        spdlog::warn("http: accept failed: {}", ec.message());
      }
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors, say: accepting again at once would fail again
      // at once, in a loop that spins the thread and floods the log.
      self->accept_pause.expires_after(std::chrono::milliseconds(100));
      self->accept_pause.async_wait([self](beast::error_code wait_ec) {
        if (!wait_ec && !self->stopped) self->do_accept();
      });
      return;
    } else {
      // Forget sessions that ended.
      for (auto it = self->sessions.begin(); it != self->sessions.end();) {
        it = it->second.expired() ? self->sessions.erase(it) : std::next(it);
      }
      // Past max_connections, a reserve slot, which answers health checks
      // only; past the reserve too, a 503.
      bool reserve = false;
      bool over = false;
      if (self->open(false) >= self->options.max_connections && !self->make_room(false)) {
        reserve = true;
        over = self->open(true) >= self->options.reserve_connections && !self->make_room(true);
      }
      auto session = std::make_shared<Session>(std::move(socket), self, ++self->accepted, reserve);
      self->sessions[session.get()] = session;
      session->start(over);
    }
    self->do_accept();
  });
}

std::size_t Server::Impl::open(bool reserve) const {
  std::size_t n = 0;
  for (const auto& [ptr, weak] : sessions) {
    const auto s = weak.lock();
    n += s && s->reserve() == reserve ? 1 : 0;
  }
  return n;
}

bool Server::Impl::make_room(bool reserve) {
  std::shared_ptr<Session> oldest;
  const char* why = nullptr;
  for (auto& [ptr, weak] : sessions) {
    auto s = weak.lock();
    if (!s || s->reserve() != reserve || (oldest && s->number() > oldest->number())) continue;
    if (const char* reason = s->idle_holder()) {
      oldest = std::move(s);
      why = reason;
    }
  }
  if (!oldest) return false;
  spdlog::debug("http {}: closed to make room (http.max_connections = {}): {}", oldest->remote(),
                options.max_connections, why);
  oldest->close();
  sessions.erase(oldest.get());
  return true;
}

Server::Server(asio::io_context& ioc, ServerOptions options, Handler& handler)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), handler)) {}

Server::~Server() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  impl_->accept_pause.cancel();
}

Status Server::start() {
  const auto addr = parse_listen(impl_->options.listen);
  if (!addr) {
    return Error(ErrorCode::kInvalidInput, "http.listen \"" + impl_->options.listen +
                                               "\" is not host:port (e.g. 127.0.0.1:8080)");
  }
  boost::system::error_code ec;
  const auto ip = addr->host == "localhost" ? asio::ip::make_address("127.0.0.1")
                                            : asio::ip::make_address(addr->host, ec);
  const tcp::endpoint ep(ip, addr->port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    a.close(ec);
    return Error(ErrorCode::kIo, "cannot listen on " + impl_->options.listen + ": " + ec.message());
  }
  impl_->do_accept();
  return {};
}

void Server::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  impl_->accept_pause.cancel();
  for (auto& [ptr, weak] : impl_->sessions) {
    if (auto s = weak.lock()) s->close();
  }
  impl_->sessions.clear();
}

unsigned short Server::port() const {
  boost::system::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t Server::connections() const {
  std::size_t n = 0;
  for (const auto& [ptr, weak] : impl_->sessions) n += weak.expired() ? 0 : 1;
  return n;
}

}  // namespace stockwatch::http

// The HTTP server on a real socket: a test Handler, a Server on an
// io_context running in its own thread, and raw TCP clients that send
// exactly the bytes each case needs (well-formed, malformed, slow, cut off).
#include "http/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stockwatch::http {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

// How long a test waits for something that should happen at once. Only a
// failing test ever waits this long.
constexpr auto kPatience = 5s;

// --- What the handler saw, shared with the test thread -------------------------

struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> pieces;                         // BodySink::on_data
  int finishes = 0;
  int aborts = 0;
  std::vector<std::pair<std::string, unsigned>> done;      // Handler::on_done
  std::vector<std::string> targets;                        // Handler::route

  template <typename F>
  void update(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
  // Waits until `pred` holds (under the lock); false after kPatience.
  template <typename P>
  bool wait(P pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kPatience, pred);
  }
  std::string body() {
    std::lock_guard lock(mu);
    std::string all;
    for (const auto& p : pieces) all += p;
    return all;
  }
};

// Records every piece; finish() answers with the byte count. refuse_after
// makes on_data refuse once that many bytes have arrived.
class RecordingSink final : public BodySink {
 public:
  RecordingSink(Events& events, std::optional<std::size_t> refuse_after)
      : events_(events), refuse_after_(refuse_after) {}
  std::optional<Response> on_data(std::string_view data) override {
    received_ += data.size();
    events_.update([&] { events_.pieces.emplace_back(data); });
    if (refuse_after_ && received_ > *refuse_after_) return make_response(422, "refused\n");
    return std::nullopt;
  }
  Response finish() override {
    events_.update([&] { ++events_.finishes; });
    return make_response(200, "received " + std::to_string(received_) + " bytes\n");
  }
  void abort() override {
    events_.update([&] { ++events_.aborts; });
  }

 private:
  Events& events_;
  std::optional<std::size_t> refuse_after_;
  std::size_t received_ = 0;
};

// Routes by path:
//   /hello           200 "hello"
//   /refuse          403 at once (a body is never read)
//   /upload          streamed into a RecordingSink, limit 1 MiB
//   /small           streamed, limit 10 bytes
//   /picky           streamed, refused by on_data after 10 bytes
//   /echo            buffered, limit 100 bytes, answers the body
//   /nocontent       204
//   /delayed         401 after a delay of 1 s
//   /healthz         200 "ok", and may use a reserve slot
class TestHandler final : public Handler {
 public:
  explicit TestHandler(Events& events) : events_(events) {}

  Route route(const RequestHead& head, const std::string& remote) override {
    EXPECT_EQ(remote.rfind("127.0.0.1:", 0), 0u) << remote;
    const std::string target(head.target());
    events_.update([&] { events_.targets.push_back(target); });
    Route r;
    r.label = target.substr(1);
    if (target == "/hello") {
      r.response = make_response(200, "hello");
    } else if (target == "/upload" || target == "/small" || target == "/picky") {
      r.sink = std::make_unique<RecordingSink>(
          events_, target == "/picky" ? std::optional<std::size_t>(10) : std::nullopt);
      r.body_limit = target == "/small" ? 10 : 1024 * 1024;
    } else if (target == "/healthz") {
      r.response = make_response(200, "ok");
    } else if (target == "/nocontent") {
      r.response = make_response(204, "");
    } else if (target == "/delayed") {
      r.response = make_response(401, "not you\n");
      r.delay = 1s;
    } else if (target == "/echo") {
      r.buffered = [](std::string body) { return make_response(200, std::move(body)); };
      r.body_limit = 100;
    } else {
      r.label = "refuse";
      r.response = make_response(403, "no\n");
    }
    return r;
  }
  void on_done(const std::string& label, unsigned status, const RequestHead&,
               const std::string&) override {
    events_.update([&] { events_.done.emplace_back(label, status); });
  }
  bool reserved(const RequestHead& head) const override { return head.target() == "/healthz"; }

 private:
  Events& events_;
};

// --- A raw client ---------------------------------------------------------------

struct Reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;   // names in lower case
  std::string body;
  [[nodiscard]] std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A blocking TCP client on plain sockets; every read gives up after
// kPatience so a broken server fails the test instead of hanging it.
class RawClient {
 public:
  explicit RawClient(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    EXPECT_TRUE(connected_) << "cannot connect to port " << port;
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { close(); }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Sends `request` and reads the response to it.
  std::optional<Reply> request(std::string_view request) {
    if (!send(request)) return std::nullopt;
    return read_response();
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The next response (an interim 1xx included); nullopt when the server
  // closed the connection or sent nothing in time. `head_request`: the
  // response has no body whatever its Content-Length says.
  std::optional<Reply> read_response(bool head_request = false) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    Reply reply;
    const std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
    reply.status = static_cast<unsigned>(std::stoi(status_line.substr(9, 3)));
    for (std::size_t pos = line_end + 2; pos < head.size();) {
      const std::size_t next = head.find("\r\n", pos);
      const std::string line = head.substr(pos, next - pos);
      pos = next + 2;
      const auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      reply.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    if (reply.status >= 200 && !head_request) {
      const std::size_t length = std::stoul(reply.header("content-length").empty()
                                                ? "0"
                                                : reply.header("content-length"));
      while (buf_.size() < length) {
        if (!fill()) return std::nullopt;
      }
      reply.body = buf_.substr(0, length);
      buf_.erase(0, length);
    }
    return reply;
  }

  // Whether the server closes the connection (EOF or reset) without
  // sending anything more.
  bool closed_quietly() {
    while (fill()) {
    }
    return buf_.empty() && last_ != Read::kTimeout;
  }

  // Whether the server has sent anything yet, without waiting.
  bool has_pending_data() {
    pollfd p{fd_, POLLIN, 0};
    return !buf_.empty() || ::poll(&p, 1, 0) > 0;
  }

 private:
  enum class Read { kData, kClosed, kTimeout };
  // Reads what arrives into buf_; false once the connection ended or
  // nothing came within kPatience.
  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kPatience).count()));
    if (ready <= 0) {
      last_ = Read::kTimeout;
      ADD_FAILURE() << "the server sent nothing for " << kPatience.count() << " s";
      return false;
    }
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      last_ = Read::kClosed;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    last_ = Read::kData;
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
  Read last_ = Read::kData;
};

std::string put_head(std::string_view target, std::size_t length, std::string_view extra = "") {
  return "PUT " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
         std::to_string(length) + "\r\n" + std::string(extra) + "\r\n";
}

constexpr const char* kGetHello = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr const char* kGetHealth = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// --- The fixture: a Server on its own io thread ---------------------------------

class HttpServerTest : public ::testing::Test {
 protected:
  Events events_;
  TestHandler handler_{events_};
  asio::io_context ioc_;            // after the handler: pending sessions go first
  std::unique_ptr<Server> server_;
  std::thread io_thread_;
  unsigned short port_ = 0;

  // A server with one ordinary connection slot and `reserve` reserve slots.
  void start_with_one_slot(std::size_t reserve) {
    ServerOptions options;
    options.max_connections = 1;
    options.reserve_connections = reserve;
    start(options);
  }

  void start(ServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(ioc_, options, handler_);
    const Status st = server_->start();
    ASSERT_TRUE(st.ok()) << st.message();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    io_thread_ = std::thread([this] { ioc_.run(); });
  }

  // Runs `f` on the io thread and returns its result.
  template <typename F>
  auto on_io(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(ioc_, [&task] { task(); });
    EXPECT_EQ(result.wait_for(kPatience), std::future_status::ready);
    return result.get();
  }

  // Stops the server; the io_context must then run out of work by itself
  // (no session, timer or accept left behind).
  void TearDown() override {
    if (!io_thread_.joinable()) return;
    asio::post(ioc_, [this] { server_->stop(); });
    auto finished = std::async(std::launch::async, [this] { io_thread_.join(); });
    if (finished.wait_for(kPatience) != std::future_status::ready) {
      ADD_FAILURE() << "the io_context still had work after stop()";
      ioc_.stop();
    }
    finished.get();
  }

  std::size_t connections() {
    return on_io([this] { return server_->connections(); });
  }
  // Waits until the server holds `n` connections. Each round trip through
  // the io thread lets it handle what is queued; no timed sleeps.
  bool wait_for_connections(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (connections() != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }
  std::vector<std::pair<std::string, unsigned>> done() {
    std::lock_guard lock(events_.mu);
    return events_.done;
  }
  bool wait_done(std::size_t count) {
    return events_.wait([&] { return events_.done.size() >= count; });
  }
  // A client that has sent the head and the first 1000 bytes of a 100 kB
  // upload, once the sink has seen them.
  std::unique_ptr<RawClient> upload_in_flight() {
    auto c = std::make_unique<RawClient>(port_);
    EXPECT_TRUE(c->send(put_head("/upload", 100'000) + std::string(1000, 'x')));
    EXPECT_TRUE(events_.wait([&] { return !events_.pieces.empty(); }));
    return c;
  }
  // The upload under way was abandoned: aborted, never finished, and
  // reported to on_done with status 0.
  void expect_upload_abandoned() {
    ASSERT_TRUE(events_.wait([&] { return events_.aborts == 1 && !events_.done.empty(); }));
    std::lock_guard lock(events_.mu);
    EXPECT_EQ(events_.finishes, 0);
    EXPECT_EQ(events_.done.back(), (std::pair<std::string, unsigned>{"upload", 0}));
  }
  // Sends `request` on a new connection: it must be answered `status`, the
  // connection closed, and the sink aborted without being finished.
  void expect_refused_and_aborted(const std::string& request, unsigned status) {
    RawClient c(port_);
    auto r = c.request(request);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.closed_quietly());
    ASSERT_TRUE(events_.wait([&] { return events_.aborts == 1; }));
    std::lock_guard lock(events_.mu);
    EXPECT_EQ(events_.finishes, 0);
  }
};

TEST_F(HttpServerTest, PlainGet) {
  start();
  RawClient c(port_);
  auto r = c.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->header("server"), "stockwatch");
  EXPECT_EQ(r->header("content-type"), "text/plain; charset=utf-8");
  ASSERT_TRUE(wait_done(1));
  EXPECT_EQ(done().front(), (std::pair<std::string, unsigned>{"hello", 200}));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawClient c(port_);
  for (int i = 0; i < 3; ++i) {
    auto r = c.request(kGetHello);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200u);
    EXPECT_NE(r->header("connection"), "close");
  }
  // Pipelined: two requests in one write, two answers in order.
  EXPECT_EQ(c.request(std::string(kGetHello) + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")->status, 200u);
  EXPECT_EQ(c.read_response()->status, 403u);
  EXPECT_EQ(connections(), 1u);
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10AreHonoured) {
  start();
  RawClient c(port_);
  auto r = c.request("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.closed_quietly());

  RawClient old(port_);
  r = old.request("GET /hello HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  EXPECT_TRUE(old.closed_quietly());
}

TEST_F(HttpServerTest, HeadRequestGetsNoBody) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->header("content-length"), "5");
  // The connection carries on with the next response, not a stray body.
  r = c.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpServerTest, HeadKeepsTheLengthOfTheGetsBody) {
  start();
  RawClient c(port_);
  auto get = c.request(kGetHello);
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(get && head);
  EXPECT_EQ(head->header("content-length"), get->header("content-length"));
  EXPECT_EQ(head->header("content-type"), get->header("content-type"));
  EXPECT_EQ(head->body, "");
}

TEST_F(HttpServerTest, NoContentCarriesNoLength) {
  start();
  RawClient c(port_);
  for (const char* method : {"GET", "HEAD", "DELETE"}) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(c.send(std::string(method) + " /nocontent HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response(/*head_request=*/true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204u);
    EXPECT_EQ(r->headers.count("content-length"), 0u);
    EXPECT_EQ(r->headers.count("transfer-encoding"), 0u);
  }
  // Nothing stray follows on the connection.
  EXPECT_EQ(c.request(kGetHello)->body, "hello");
}

TEST_F(HttpServerTest, ADelayedAnswerHoldsUpNoOneElse) {
  start();
  RawClient slow(port_);
  ASSERT_TRUE(slow.send("GET /delayed HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(events_.wait([&] { return events_.targets.size() == 1; }));
  RawClient quick(port_);
  EXPECT_EQ(quick.request(kGetHello)->status, 200u);
  EXPECT_FALSE(slow.has_pending_data());
  auto r = slow.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(r->body, "not you\n");
  // The connection carries on.
  EXPECT_EQ(slow.request(kGetHello)->status, 200u);
}

TEST_F(HttpServerTest, StopDuringADelayEndsTheConnection) {
  start();
  RawClient slow(port_);
  ASSERT_TRUE(slow.send("GET /delayed HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(events_.wait([&] { return events_.targets.size() == 1; }));
  on_io([this] {
    server_->stop();
    return 0;
  });
  EXPECT_TRUE(slow.closed_quietly());
  ASSERT_TRUE(wait_done(1));
  EXPECT_EQ(done().back(), (std::pair<std::string, unsigned>{"delayed", 0}));
}

TEST_F(HttpServerTest, StreamedBodyArrivesInPieces) {
  start();
  std::string body(300'000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  RawClient c(port_);
  ASSERT_TRUE(c.send(put_head("/upload", body.size())));
  for (std::size_t i = 0; i < body.size(); i += 50'000) ASSERT_TRUE(c.send(body.substr(i, 50'000)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "received 300000 bytes\n");
  EXPECT_EQ(events_.body(), body);
  {
    std::lock_guard lock(events_.mu);
    EXPECT_GE(events_.pieces.size(), 5u);
    for (const auto& p : events_.pieces) EXPECT_LE(p.size(), 64u * 1024);
    EXPECT_EQ(events_.finishes, 1);
    EXPECT_EQ(events_.aborts, 0);
  }
  // The connection is kept for the next request.
  EXPECT_EQ(c.request(kGetHello)->status, 200u);
}

TEST_F(HttpServerTest, ChunkedBodyIsStreamedToo) {
  start();
  RawClient c(port_);
  auto r = c.request("PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(events_.body(), "hello world");
}

TEST_F(HttpServerTest, EmptyBodyIsFinishedAtOnce) {
  start();
  RawClient c(port_);
  auto r = c.request(put_head("/upload", 0));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "received 0 bytes\n");
  std::lock_guard lock(events_.mu);
  EXPECT_EQ(events_.finishes, 1);
  EXPECT_EQ(events_.aborts, 0);
}

TEST_F(HttpServerTest, BufferedBody) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello"));
  auto r = c.request(" world");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "hello world");
  r = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "");
}

TEST_F(HttpServerTest, StreamedBodyOverTheLimitIsRefusedAndAborted) {
  start();
  expect_refused_and_aborted(
      "PUT /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
      413);
}

TEST_F(HttpServerTest, BufferedBodyOverTheLimit) {
  start();
  RawClient c(port_);
  auto r = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "64\r\n" + std::string(100, 'x') + "\r\n1\r\ny\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
}

TEST_F(HttpServerTest, ContentLengthOverTheLimitIsRefusedWithoutReading) {
  start();
  // Only the head is sent: the answer must not wait for the body.
  expect_refused_and_aborted(put_head("/small", 1000), 413);
  std::lock_guard lock(events_.mu);
  EXPECT_TRUE(events_.pieces.empty());
  EXPECT_EQ(events_.done.back(), (std::pair<std::string, unsigned>{"small", 413}));
}

TEST_F(HttpServerTest, RefusedBodyIsDrainedSoTheClientSeesTheAnswer) {
  start();
  RawClient c(port_);
  // More than the socket buffers hold: the client is still sending when
  // the server answers, as curl is with a large upload and no Expect.
  const std::string body(16 * 1024 * 1024, 'x');
  bool sent = false;
  std::thread writer([&] { sent = c.send(put_head("/small", body.size()) + body); });
  auto r = c.read_response();
  writer.join();
  EXPECT_TRUE(sent) << "the connection was reset while the client was sending";
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
}

TEST_F(HttpServerTest, SinkRefusingMidBody) {
  start();
  expect_refused_and_aborted(put_head("/picky", 100) + std::string(100, 'x'), 422);
}

TEST_F(HttpServerTest, ExpectContinueOnlyWhenTheRouteAccepts) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(put_head("/upload", 5, "Expect: 100-continue\r\n")));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100u);
  // Nothing reached the sink before the client was told to go on.
  EXPECT_TRUE(events_.body().empty());
  auto r = c.request("hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(events_.body(), "hello");
}

TEST_F(HttpServerTest, ExpectContinueRefusedRouteAnswersAtOnce) {
  start();
  RawClient c(port_);
  auto r = c.request(put_head("/forbidden", 5000, "Expect: 100-continue\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  EXPECT_EQ(r->body, "no\n");
  // The unsent body is never waited for: the connection ends.
  EXPECT_TRUE(c.closed_quietly());

  RawClient big(port_);
  r = big.request(put_head("/small", 5000, "Expect: 100-continue\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
}

TEST_F(HttpServerTest, HeaderOverTheLimit) {
  ServerOptions options;
  options.header_limit = 1024;
  start(options);
  RawClient c(port_);
  auto r = c.request("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') +
                     "\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431u);
  ASSERT_TRUE(wait_done(1));
  EXPECT_EQ(done().front(), (std::pair<std::string, unsigned>{"header_too_large", 431}));
  // A header just under the limit is fine.
  RawClient ok(port_);
  EXPECT_EQ(ok.request("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(900, 'b') +
                      "\r\n\r\n")->status, 200u);
}

TEST_F(HttpServerTest, MalformedRequestsGet400) {
  start();
  for (const std::string& bad : {std::string("NOT A REQUEST\r\n\r\n"),
                                 std::string("GET /hello\r\n\r\n"),
                                 std::string("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"),
                                 std::string("PUT /upload HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
                                 std::string("GET /hello HTTP/1.1\r\nHost: x\r\n\x01\r\n\r\n")}) {
    RawClient c(port_);
    auto r = c.request(bad);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400u) << bad;
    EXPECT_TRUE(c.closed_quietly()) << bad;
  }
  std::lock_guard lock(events_.mu);
  EXPECT_TRUE(events_.targets.empty());
}

class HttpServerTimeoutTest : public HttpServerTest {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.read_timeout = 300ms;
    start(options);
  }
};

TEST_F(HttpServerTimeoutTest, SlowHeaderIsAnswered408WhileOthersAreServed) {
  RawClient slow(port_);
  ASSERT_TRUE(slow.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n"));   // and no more
  // Served while the slow client holds its connection.
  RawClient quick(port_);
  auto r = quick.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_FALSE(slow.has_pending_data());

  const auto before = std::chrono::steady_clock::now();
  r = slow.read_response();
  ASSERT_TRUE(r) << "the slow client was closed without an answer";
  EXPECT_EQ(r->status, 408u);
  EXPECT_TRUE(slow.closed_quietly());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  // And the server carries on.
  RawClient after(port_);
  EXPECT_EQ(after.request(kGetHello)->status, 200u);
}

TEST_F(HttpServerTimeoutTest, DripFedHeaderStillTimesOut) {
  // Each byte arrives in time, but the whole header does not.
  RawClient slow(port_);
  ASSERT_TRUE(slow.send("GET /hello HTTP/1.1\r\n"));
  std::optional<Reply> r;
  for (int i = 0; i < 100 && !slow.has_pending_data(); ++i) {
    if (!slow.send("X-A: b\r\n")) break;
    std::this_thread::sleep_for(20ms);   // pacing the client, not synchronising
  }
  r = slow.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408u);
}

TEST_F(HttpServerTimeoutTest, IdleKeepAliveConnectionClosesQuietly) {
  RawClient c(port_);
  EXPECT_EQ(c.request(kGetHello)->status, 200u);
  EXPECT_TRUE(c.closed_quietly());
  ASSERT_TRUE(wait_done(1));
  EXPECT_EQ(done().size(), 1u);   // no 408 for a connection between requests
}

TEST_F(HttpServerTimeoutTest, StalledBodyIsAborted) {
  auto c = upload_in_flight();
  expect_upload_abandoned();
  EXPECT_TRUE(c->closed_quietly());
}

TEST_F(HttpServerTest, ClientVanishingMidBodyAbortsTheSink) {
  start();
  upload_in_flight().reset();
  expect_upload_abandoned();
}

TEST_F(HttpServerTest, StopAbortsUploadsInFlight) {
  start();
  auto c = upload_in_flight();
  on_io([this] {
    server_->stop();
    return 0;
  });
  expect_upload_abandoned();
  EXPECT_TRUE(c->closed_quietly());
}

TEST_F(HttpServerTest, MoreThanMaxConnectionsGet503) {
  ServerOptions options;
  options.max_connections = 2;
  options.reserve_connections = 0;   // ReserveSlotsAnswerOnlyHealthChecks covers the reserve
  start(options);
  auto a = std::make_unique<RawClient>(port_);
  RawClient b(port_);
  for (RawClient* c : {a.get(), &b}) {
    ASSERT_TRUE(c->send(kGetHello));
    ASSERT_EQ(c->read_response()->status, 200u);
  }
  RawClient over(port_);
  auto r = over.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503u);
  EXPECT_TRUE(over.closed_quietly());
  // The two held connections are still served.
  EXPECT_EQ(b.request(kGetHello)->status, 200u);
  // Once one goes, a new client gets in.
  a.reset();
  ASSERT_TRUE(wait_for_connections(1));
  RawClient next(port_);
  EXPECT_EQ(next.request(kGetHello)->status, 200u);
}

TEST_F(HttpServerTest, SilentConnectionsMakeRoomAtTheLimit) {
  // Sockets opened and never used (a browser's preconnect, a port scan)
  // must not lock out a health check until they time out.
  ServerOptions options;
  options.max_connections = 3;
  start(options);
  RawClient silent_old(port_);
  ASSERT_TRUE(wait_for_connections(1));
  RawClient silent_new(port_);
  RawClient spoke(port_);   // served once, kept alive: not silent
  ASSERT_EQ(spoke.request(kGetHello)->status, 200u);
  ASSERT_TRUE(wait_for_connections(3));
  RawClient check(port_);
  auto r = check.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  // The oldest silent one went; the others are still served.
  EXPECT_TRUE(silent_old.closed_quietly());
  EXPECT_EQ(silent_new.request(kGetHello)->status, 200u);
  EXPECT_EQ(spoke.request(kGetHello)->status, 200u);
}

TEST_F(HttpServerTest, AHalfSentRequestMakesRoomAtTheLimit) {
  // One byte, or half a header, must not hold a slot until read_timeout:
  // eight of them would lock out a health check.
  start_with_one_slot(0);
  RawClient half(port_);
  ASSERT_TRUE(half.send("GET /hello HTTP/1.1\r\n"));
  ASSERT_TRUE(wait_for_connections(1));
  RawClient next(port_);
  auto r = next.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(half.closed_quietly());
}

TEST_F(HttpServerTest, AnUploadUnderWayKeepsItsSlot) {
  start_with_one_slot(0);
  auto upload = upload_in_flight();
  RawClient over(port_);
  auto r = over.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503u);
  EXPECT_TRUE(over.closed_quietly());
  ASSERT_TRUE(upload->send(std::string(99'000, 'x')));
  r = upload->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "received 100000 bytes\n");
}

TEST_F(HttpServerTest, AThrottledRefusalMakesRoomAtTheLimit) {
  // A credential guesser waiting out its delay, on a keep-alive
  // connection it would use again at once, gives its slot up.
  start_with_one_slot(0);
  RawClient guesser(port_);
  ASSERT_TRUE(guesser.send("GET /delayed HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(events_.wait([&] { return events_.targets.size() == 1; }));
  RawClient next(port_);
  auto r = next.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(guesser.closed_quietly());
  ASSERT_TRUE(wait_done(2));
  EXPECT_EQ(done().front(), (std::pair<std::string, unsigned>{"delayed", 0}));
}

TEST_F(HttpServerTest, ReserveSlotsAnswerOnlyHealthChecks) {
  start_with_one_slot(1);
  RawClient held(port_);   // between two requests: keeps its slot
  ASSERT_EQ(held.request(kGetHello)->status, 200u);
  RawClient other(port_);
  auto r = other.request(kGetHello);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503u);
  EXPECT_TRUE(other.closed_quietly());
  ASSERT_TRUE(wait_for_connections(1));
  RawClient check(port_);
  r = check.request(kGetHealth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(check.closed_quietly());
  EXPECT_EQ(held.request(kGetHello)->status, 200u);
}

TEST_F(HttpServerTest, AFullReserveMakesRoomForTheNextHealthCheck) {
  start_with_one_slot(1);
  RawClient held(port_);
  ASSERT_EQ(held.request(kGetHello)->status, 200u);
  RawClient stalled(port_);   // takes the reserve slot and stalls in its header
  ASSERT_TRUE(stalled.send("GET /hea"));
  ASSERT_TRUE(wait_for_connections(2));
  RawClient check(port_);
  auto r = check.request(kGetHealth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(stalled.closed_quietly());
}

TEST_F(HttpServerTest, StartFailsOnABadOrBusyAddress) {
  start();
  asio::io_context other;
  Server bad(other, ServerOptions{"not-an-address"}, handler_);
  EXPECT_EQ(bad.start().code(), ErrorCode::kInvalidInput);
  Server busy(other, ServerOptions{"127.0.0.1:" + std::to_string(port_)}, handler_);
  const Status st = busy.start();
  EXPECT_EQ(st.code(), ErrorCode::kIo);
  EXPECT_NE(st.message().find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(busy.port(), 0);
}

TEST(ParseListen, HostAndPort) {
  auto a = parse_listen("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  a = parse_listen("[::1]:9000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 9000);
  a = parse_listen("localhost:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "localhost");
  EXPECT_EQ(a->port, 0);
  a = parse_listen("0.0.0.0:65535");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 65535);
  a = parse_listen("[::]:80");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::");
}

TEST(ParseListen, Malformed) {
  for (const char* bad : {"", "8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                          "127.0.0.1:123456", "127.0.0.1:-1", "127.0.0.1:80x", "::1:8080",
                          "[::1]8080", "[::1]:", "[::1", "example.com:80", "256.0.0.1:80",
                          "[]:80", "[127.0.0.1:80"}) {
    EXPECT_FALSE(parse_listen(bad).has_value()) << bad;
  }
}

TEST(IsLoopbackHost, Cases) {
  for (const char* yes : {"localhost", "127.0.0.1", "127.1.2.3", "::1"}) {
    EXPECT_TRUE(is_loopback_host(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", "",
                         "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(no)) << no;
  }
}

TEST(MakeResponse, StatusBodyAndType) {
  const Response r = make_response(404, "nothing here", "application/json");
  EXPECT_EQ(r.result_int(), 404u);
  EXPECT_EQ(r.body(), "nothing here");
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
}

}  // namespace
}  // namespace stockwatch::http

// A small HTTP/1.1 server on Boost.Beast: the transport under the S3
// upload endpoint, the health and metrics routes and the JSON API.
//
// Contract:
// - The Server runs on the io_context it is given and calls the Handler
//   only from that io_context's thread(s); give it a single-threaded
//   io_context (the daemon runs one on its own thread, so slow disks or
//   slow clients never stall the inbox loop).
// - Every read has a deadline (read_timeout between any two pieces of a
//   request; a whole header must arrive within it). Headers are limited to
//   header_limit bytes (431), small bodies to their route's limit (413),
//   and the number of open connections to max_connections. When a new
//   connection would pass the limit, the oldest connection that holds its
//   slot without a request under way is closed to make room: one that has
//   not sent a byte since it was opened, one stalled part-way through a
//   request header, or one waiting out a throttled refusal (Route::delay).
//   Idle or half-open sockets and credential guessers must not lock out a
//   health check. Only when there is none (every connection is between
//   requests, reading a body or writing an answer) does the newcomer take
//   one of reserve_connections extra slots: it must send its header within
//   reserve_timeout, is served only if Handler::reserved() says so (health
//   checks), and is closed after that one answer; anything else gets 503.
//   A full reserve makes room the same way, or answers 503 and closes. A
//   slow, malformed or vanished client affects only its own connection.
// - Upload bodies are handed to a BodySink piece by piece as they arrive
//   (64 KiB at a time), never held whole in memory. A client that sends
//   "Expect: 100-continue" gets "100 Continue" only once the handler has
//   accepted the request head, so a refused upload costs no transfer. A
//   body refused while the client is still sending it is read and dropped
//   (up to read_timeout of silence, at most 64 MiB) before the connection
//   closes, so the client reads the answer rather than a reset.
// - A header that does not arrive whole within read_timeout is answered
//   408; an idle keep-alive connection is closed quietly. HEAD responses
//   carry the headers of the GET without its body.
// - start() returns an error when the address cannot be used; nothing
//   else throws.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace stockwatch::http {

using RequestHead = boost::beast::http::request_header<>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A response with a body and a Content-Type.
[[nodiscard]] Response make_response(unsigned status, std::string body,
                                     std::string_view content_type = "text/plain; charset=utf-8");

// Whether `text` begins with `prefix`, ASCII case ignored (header values
// such as "Bearer ..." and "AWS4-HMAC-SHA256 ...").
[[nodiscard]] bool starts_with_ignoring_case(std::string_view text, std::string_view prefix);

// Receives one request body, piece by piece.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // A piece of the body. Returning a response refuses the rest: it is sent
  // and the connection closed.
  [[nodiscard]] virtual std::optional<Response> on_data(std::string_view data) = 0;
  // The whole body arrived.
  [[nodiscard]] virtual Response finish() = 0;
  // The body did not arrive whole (the client went away, timed out, or sent
  // more than the limit): nothing of it may stay behind.
  virtual void abort() = 0;
};

// Sends the answer to a deferred request. May be called from any thread,
// once; it hands the response to the server's thread. A connection closed
// meanwhile drops it.
using Reply = std::function<void(Response)>;

// What to do with a request, decided from its head.
struct Route {
  std::string label;                        // for metrics and logs: "s3_put", "healthz", ...
  // Exactly one of these four:
  std::optional<Response> response;         // answer now; a body the client sends is not read
  std::unique_ptr<BodySink> sink;           // stream the body into it
  std::function<Response(std::string body)> buffered;   // read the whole (small) body, then answer
  // Read the whole (small) body, if any, then hand it over with a Reply:
  // work that must not run on the server's thread (a database query, a
  // password hash) runs elsewhere and replies when done. The connection
  // waits without a deadline meanwhile; the handler must reply.
  std::function<void(std::string body, Reply reply)> deferred;
  std::uint64_t body_limit = 1024 * 1024;   // for `buffered` and `sink`; more gets 413
  // With `response`: wait this long before sending it (on a timer; the
  // thread serves others meanwhile). Slows down a client that guesses
  // credentials.
  std::chrono::milliseconds delay{0};
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on the server's thread for every request head.
  [[nodiscard]] virtual Route route(const RequestHead& head, const std::string& remote) = 0;
  // Called once the response was sent (or the connection ended without one:
  // status 0), for metrics and the access log.
  virtual void on_done(const std::string& label, unsigned status, const RequestHead& head,
                       const std::string& remote) = 0;
  // Whether this request may be served on a reserve slot, when every
  // ordinary one is taken (health checks). Called before route().
  [[nodiscard]] virtual bool reserved(const RequestHead& /*head*/) const { return false; }
};

struct ServerOptions {
  std::string listen;                               // "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80"
  std::chrono::milliseconds read_timeout{30'000};
  std::size_t header_limit = 16 * 1024;
  std::size_t max_connections = 256;
  // Extra connections past max_connections, for Handler::reserved()
  // requests only, whose header must arrive within reserve_timeout.
  std::size_t reserve_connections = 2;
  std::chrono::milliseconds reserve_timeout{2'000};
};

// Splits "host:port" / "[v6]:port" into its parts; nullopt when malformed.
struct ListenAddress {
  std::string host;
  unsigned short port = 0;
};
[[nodiscard]] std::optional<ListenAddress> parse_listen(std::string_view listen);
// Whether `host` (an IP literal or "localhost") is a loopback address.
[[nodiscard]] bool is_loopback_host(const std::string& host);

class Server {
 public:
  Server(boost::asio::io_context& ioc, ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Call on the io_context's thread or before
  // it runs.
  [[nodiscard]] Status start();
  // Stops accepting and closes every connection (uploads in flight are
  // aborted). Call on the io_context's thread.
  void stop();
  // The bound port (useful with port 0).
  [[nodiscard]] unsigned short port() const;
  [[nodiscard]] std::size_t connections() const;

  struct Impl;  // opaque; defined in src/http_server.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace stockwatch::http

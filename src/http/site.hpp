// The daemon's HTTP site: every path the server answers, who may ask for
// it, and the access log and metrics of each request.
//
//   /healthz, /readyz            health checks, open to anyone
//   /metrics                     Prometheus metrics, authenticated
//   /api, /api/...               the JSON API, authenticated before anything
//                                else (an unknown /api/ path is 401 to a
//                                stranger, 404 to a holder of the token);
//                                without an Authorization header, an
//                                owner's console session cookie also works
//   /_console/...                the web console (http/console/console.hpp),
//                                when [console] is enabled
//   /_...                        reserved for stockwatch's own pages; no S3
//                                bucket name can begin with '_'
//   /{bucket}, /{bucket}/...     the S3 endpoint, for inbox.bucket only
//   /                            a browser is sent to the console (a short
//                                page saying what this server is without
//                                one); an S3 client gets its S3 answer
//   anything else                404 in words, or an S3 error for a client
//                                that speaks S3 (a signature, x-amz-*
//                                headers, or a method other than GET/HEAD)
//
// Contract:
// - Runs on the HTTP thread only, as do the HttpRoutes and S3Gateway it
//   dispatches to.
// - A wrong bearer token is answered 401 after a delay that grows with
//   each recent failure from the same address, or IPv6 /64
//   (FailureThrottle), on a timer.
// - bucket_name_problem() says why a bucket name cannot be mounted; the
//   constructor throws std::invalid_argument for such a name (start-up).
#pragma once

#include <optional>
#include <string>

#include "base/clock.hpp"
#include "http/api/http_routes.hpp"
#include "http/auth.hpp"
#include "http/failure_throttle.hpp"
#include "http/http_server.hpp"
#include "http/router.hpp"
#include "http/s3/s3_gateway.hpp"

namespace stockwatch {

class Metrics;
namespace console {
class Console;
}

// Why `bucket` cannot be the S3 bucket (not an S3 bucket name, or one of
// the site's own paths); nullopt when it can.
[[nodiscard]] std::optional<std::string> bucket_name_problem(std::string_view bucket);

class Site final : public http::Handler {
 public:
  Site(std::string token, std::string bucket, HttpRoutes& routes, S3Gateway& s3, Metrics& metrics,
       const Clock& clock, http::FailureThrottleOptions throttle = {},
       console::Console* console = nullptr);

  [[nodiscard]] http::Route route(const http::RequestHead& head, const std::string& remote) override;
  void on_done(const std::string& label, unsigned status, const http::RequestHead& head,
               const std::string& remote) override;
  // GET or HEAD of /healthz or /readyz: answered even when every ordinary
  // connection slot is taken, so a health check never sees a full server.
  [[nodiscard]] bool reserved(const http::RequestHead& head) const override;

  // A configuration reload: a new token, a new bucket (kept as it was if it
  // cannot be mounted, with a warning).
  void reload(std::string token, std::string bucket);

 private:
  [[nodiscard]] http::Router build(const std::string& bucket);
  // The identity behind the request, or the Route refusing it.
  [[nodiscard]] std::optional<http::Route> refuse_unless_reader(const http::Request& req,
                                                                const char* label);

  HttpRoutes& routes_;
  S3Gateway& s3_;
  console::Console* console_;
  Metrics& metrics_;
  http::FailureThrottle throttle_;
  http::BearerTokenAuthenticator bearer_;
  http::AuthChain auth_;
  std::string bucket_;
  http::Router router_;
};

}  // namespace stockwatch

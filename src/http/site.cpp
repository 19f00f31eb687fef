#include "http/site.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "daemon/metrics.hpp"
#include "http/console/console.hpp"

namespace stockwatch {

namespace bhttp = boost::beast::http;

namespace {

constexpr const char* kOwnNames[] = {"api", "healthz", "readyz", "metrics"};

bool is_get(const http::RequestHead& head) {
  return head.method() == bhttp::verb::get || head.method() == bhttp::verb::head;
}

http::Route answer(const char* label, http::Response res) {
  http::Route r;
  r.label = label;
  res.set(bhttp::field::cache_control, "no-store");
  r.response = std::move(res);
  return r;
}

http::Route method_not_allowed(const char* label, std::string_view path) {
  auto res = json_error(405, "only GET is allowed on " + std::string(path));
  res.set(bhttp::field::allow, "GET, HEAD");
  return answer(label, std::move(res));
}

// Whether the request comes from an S3 client, which expects an S3 error
// (XML) rather than a page: it is signed, carries x-amz-* headers, or does
// more than read.
bool speaks_s3(const http::Request& req) {
  if (!is_get(req.head)) return true;
  const auto auth = req.head[bhttp::field::authorization];
  if (http::starts_with_ignoring_case(std::string_view(auth.data(), auth.size()), "aws")) return true;
  for (const auto& field : req.head) {
    const auto name = field.name_string();
    if (http::starts_with_ignoring_case(std::string_view(name.data(), name.size()), "x-amz-")) {
      return true;
    }
  }
  // A presigned URL: X-Amz-Signature=... among the parameters.
  for (std::size_t at = 0; at < req.query.size(); ++at) {
    if ((at == 0 || req.query[at - 1] == '&') &&
        http::starts_with_ignoring_case(req.query.substr(at), "x-amz-")) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> bucket_name_problem(std::string_view bucket) {
  const auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  const bool shaped =
      bucket.size() >= 3 && bucket.size() <= 63 && is_alnum(bucket.front()) &&
      is_alnum(bucket.back()) &&
      std::all_of(bucket.begin(), bucket.end(), [&](char c) { return is_alnum(c) || c == '.' || c == '-'; });
  if (!shaped) {
    return "inbox.bucket \"" + std::string(bucket) +
           "\" is not an S3 bucket name: 3 to 63 lower-case letters, digits, '.' and '-', "
           "beginning and ending with a letter or digit";
  }
  for (const char* own : kOwnNames) {
    if (bucket == own) {
      return "inbox.bucket \"" + std::string(bucket) + "\" is taken by stockwatch's own /" +
             own + "; choose another name";
    }
  }
  return std::nullopt;
}

Site::Site(std::string token, std::string bucket, HttpRoutes& routes, S3Gateway& s3,
           Metrics& metrics, const Clock& clock, http::FailureThrottleOptions throttle,
           console::Console* console)
    : routes_(routes),
      s3_(s3),
      console_(console),
      metrics_(metrics),
      throttle_(clock, throttle),
      bearer_(std::move(token), throttle_),
      auth_(http::Refusal{401, "this route needs Authorization: Bearer <http.token>",
                          "Bearer realm=\"stockwatch\"", Duration(0), {}}),
      bucket_(std::move(bucket)) {
  if (auto problem = bucket_name_problem(bucket_)) throw std::invalid_argument(*problem);
  auth_.add(bearer_);
  router_ = build(bucket_);
}

bool Site::reserved(const http::RequestHead& head) const {
  if (!is_get(head)) return false;
  const std::string_view target(head.target().data(), head.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/healthz" || path == "/readyz";
}

void Site::reload(std::string token, std::string bucket) {
  bearer_.set_token(std::move(token));
  if (bucket == bucket_) return;
  if (auto problem = bucket_name_problem(bucket)) {
    spdlog::warn("http: {}; uploads keep going to s3://{}/", *problem, bucket_);
    return;
  }
  bucket_ = std::move(bucket);
  router_ = build(bucket_);
}

std::optional<http::Route> Site::refuse_unless_reader(const http::Request& req, const char* label) {
  auto result = auth_.authenticate(req.head, req.remote);
  if (result.identity &&
      (result.identity->role == http::Role::kReader || result.identity->role == http::Role::kOwner)) {
    return std::nullopt;
  }
  http::Refusal refusal = result.refusal.value_or(
      http::Refusal{403, "these credentials may not read this route", "", Duration(0), {}});
  auto res = json_error(refusal.status, refusal.message);
  if (!refusal.challenge.empty()) res.set(bhttp::field::www_authenticate, refusal.challenge);
  auto route = answer(label, std::move(res));
  route.delay = refusal.delay;
  return route;
}

http::Router Site::build(const std::string& bucket) {
  http::Router r;
  r.exact("/healthz", [this](const http::Request& req) {
    if (!is_get(req.head)) return method_not_allowed("healthz", req.path);
    return answer("healthz", routes_.healthz());
  });
  r.exact("/readyz", [this](const http::Request& req) {
    if (!is_get(req.head)) return method_not_allowed("readyz", req.path);
    return answer("readyz", routes_.readyz());
  });
  r.exact("/metrics", [this](const http::Request& req) {
    if (auto refused = refuse_unless_reader(req, "metrics")) return std::move(*refused);
    if (!is_get(req.head)) return method_not_allowed("metrics", req.path);
    return answer("metrics", routes_.metrics());
  });
  const auto api = [this](const http::Request& req) {
    static const std::pair<std::string_view, const char*> kLabels[] = {
        {"inventory", "api_inventory"}, {"reports", "api_reports"}, {"alerts", "api_alerts"}};
    const char* label = "api_unknown";
    for (const auto& [name, l] : kLabels) {
      if (req.rest == name) label = l;
    }
    // A browser signed in to the console: its session, checked by the
    // console (off this thread).
    if (console_ && req.head[bhttp::field::authorization].empty() &&
        console::Console::has_session_cookie(req.head)) {
      return console_->api(req, label);
    }
    // The token first: a stranger learns nothing, not even which paths exist.
    if (auto refused = refuse_unless_reader(req, label)) return std::move(*refused);
    if (!is_get(req.head)) return method_not_allowed(label, req.path);
    auto res = routes_.api(req.rest, std::string(req.query));
    if (!res) {
      return answer("api_unknown", json_error(404, "no such route; see /api/inventory, "
                                                   "/api/reports, /api/alerts"));
    }
    return answer(label, std::move(*res));
  };
  r.exact("/api", api);
  r.mount("/api/", api);
  if (console_) {
    r.mount("/_console/", [this](const http::Request& req) { return console_->route(req); });
    r.exact("/_console", [](const http::Request&) {
      auto res = http::make_response(308, "See /_console/\n");
      res.set(bhttp::field::location, "/_console/");
      return answer("console_redirect", std::move(res));
    });
  }
  // Reserved for stockwatch's own pages: '_' never begins a bucket name.
  r.mount("/_", [this](const http::Request& req) {
    return answer("reserved",
                  http::make_response(404, "nothing here: " + std::string(req.path.substr(0, 200)) +
                                               " is reserved for stockwatch's own pages; the web "
                                               "console is at /_console/" +
                                               (console_ ? "" : " when [console] enabled = true") +
                                               "\n"));
  });
  const auto s3 = [this](const http::Request& req) { return s3_.route(req.head, req.remote); };
  r.exact("/" + bucket, s3);
  r.mount("/" + bucket + "/", s3);
  r.exact("/", [this, s3, bucket](const http::Request& req) {
    if (speaks_s3(req)) return s3(req);   // ListBuckets and friends
    if (console_) {
      auto res = http::make_response(303, "The web console: /_console/\n");
      res.set(bhttp::field::location, "/_console/");
      return answer("root", std::move(res));
    }
    return answer("root",
                  http::make_response(200, "stockwatch\n\nThis server takes stock reports over S3 "
                                           "(s3://" + bucket + "/) and answers /healthz, /readyz, "
                                           "/metrics and /api/.\n"));
  });
  r.fallback([s3](const http::Request& req) {
    if (speaks_s3(req)) return s3(req);   // NoSuchBucket, in the words an S3 client reads
    return answer("not_found", http::not_found(req.path));
  });
  return r;
}

http::Route Site::route(const http::RequestHead& head, const std::string& remote) {
  return router_.route(head, remote);
}

void Site::on_done(const std::string& label, unsigned status, const http::RequestHead& head,
                   const std::string& remote) {
  metrics_.http_request(label.empty() ? "unknown" : label, status);
  spdlog::debug("http {}: {} {} -> {} ({})", remote, std::string(head.method_string()),
                std::string(head.target()), status, label);
}

}  // namespace stockwatch

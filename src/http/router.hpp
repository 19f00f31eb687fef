// Which part of the server answers a request, by its path: exact routes
// ("/healthz"), prefix mounts ("/api/", "/inventory/") and a fallback for
// every other path.
//
// Contract:
// - Precedence: an exact route, then the longest mount whose prefix the
//   path begins with, then the fallback. The path is the request target up
//   to '?', as sent (not percent-decoded), so "/%61pi/x" is not "/api/x".
// - Paths and prefixes begin with '/'; adding the same path or prefix
//   twice is a programming error (std::invalid_argument, at start-up).
// - A target answers HEAD as it answers GET; the server sends the headers
//   without the body.
// - Not thread-safe: build it, then use it from the HTTP thread only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "http/http_server.hpp"

namespace stockwatch::http {

// What a route target sees of a request.
struct Request {
  const RequestHead& head;
  const std::string& remote;    // the client's "ip:port"
  std::string_view path;        // the target up to '?'
  std::string_view query;       // after '?', still encoded; empty when none
  std::string_view rest;        // for a mount, the path after its prefix; else the path
};
using Target = std::function<Route(const Request&)>;

class Router {
 public:
  void exact(std::string path, Target target);
  void mount(std::string prefix, Target target);
  void fallback(Target target) { fallback_ = std::move(target); }

  [[nodiscard]] Route route(const RequestHead& head, const std::string& remote) const;

 private:
  std::map<std::string, Target, std::less<>> exact_;
  std::map<std::string, Target, std::less<>> mounts_;
  Target fallback_;
};

// The plain-text 404 for a path nothing answers, naming the path.
[[nodiscard]] Response not_found(std::string_view path);

}  // namespace stockwatch::http

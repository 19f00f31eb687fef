#include "http/router.hpp"

#include <stdexcept>

namespace stockwatch::http {

namespace {
void check_path(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("a route's path must begin with '/': \"" + path + "\"");
  }
}
}  // namespace

void Router::exact(std::string path, Target target) {
  check_path(path);
  if (!exact_.emplace(path, std::move(target)).second) {
    throw std::invalid_argument("the route " + path + " is there already");
  }
}

void Router::mount(std::string prefix, Target target) {
  check_path(prefix);
  if (!mounts_.emplace(prefix, std::move(target)).second) {
    throw std::invalid_argument("the mount " + prefix + " is there already");
  }
}

Route Router::route(const RequestHead& head, const std::string& remote) const {
  const std::string_view target(head.target().data(), head.target().size());
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (auto it = exact_.find(path); it != exact_.end()) {
    return it->second(Request{head, remote, path, query, path});
  }
  // The longest prefix that matches.
  const Target* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [prefix, t] : mounts_) {
    if (prefix.size() > best_length && path.substr(0, prefix.size()) == prefix) {
      best = &t;
      best_length = prefix.size();
    }
  }
  if (best) return (*best)(Request{head, remote, path, query, path.substr(best_length)});
  if (fallback_) return fallback_(Request{head, remote, path, query, path});
  Route r;
  r.label = "not_found";
  r.response = not_found(path);
  return r;
}

Response not_found(std::string_view path) {
  // The path is the client's own, echoed as text/plain: no markup to inject.
  return make_response(404, "stockwatch has nothing at " + std::string(path.substr(0, 200)) +
                                "\nSee /healthz, /readyz, /metrics and /api/.\n");
}

}  // namespace stockwatch::http

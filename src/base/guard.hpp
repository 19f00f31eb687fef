// One wrapper for every handler given to Asio (posted work, timer
// and signal waits, descriptor readiness), so no exception ends the process.
//
// Contract: guarded(what, f) returns a callable that calls f with the
// arguments it gets; an exception f throws is logged as an error naming
// `what` and the exception, and swallowed. Asio's thread pool would
// otherwise call std::terminate. `what` must outlive the handler (a string
// literal). Any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace stockwatch {

// Logs the exception being handled (inside a catch block).
void log_handler_exception(const char* what) noexcept;

template <class F>
auto guarded(const char* what, F&& f) {
  return [what, f = std::forward<F>(f)](auto&&... args) mutable {
    try {
      f(std::forward<decltype(args)>(args)...);
    } catch (...) {
      log_handler_exception(what);
    }
  };
}

}  // namespace stockwatch

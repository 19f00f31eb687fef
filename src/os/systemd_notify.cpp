#include "os/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>

namespace stockwatch::systemd {

namespace {

// STATUS= is one line: a newline would start a new assignment.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

void send(const std::string& state) {
  if (!notify_enabled()) return;
  (void)sd_notify(0, state.c_str());
}

}  // namespace

bool notify_enabled() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

void ready(std::string_view status_line) {
  send("READY=1\nSTATUS=" + one_line(status_line));
}

void status(std::string_view status_line) { send("STATUS=" + one_line(status_line)); }

void watchdog() { send("WATCHDOG=1"); }

void reloading() {
  // MONOTONIC_USEC lets systemd (Type=notify-reload) match the reload to
  // this notification; older versions ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() { send("STOPPING=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

}  // namespace stockwatch::systemd

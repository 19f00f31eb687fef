// Telling systemd how the daemon is doing: sd_notify(3) messages.
//
// Contract:
// - Every function sends one datagram to the socket named by NOTIFY_SOCKET
//   (set by systemd for Type=notify units) and never throws. When
//   NOTIFY_SOCKET is unset (a shell, a test, `make run`) each call does
//   nothing and returns at once, so callers never need to check.
// - Calls are thread-safe: each one is a single sendmsg() on a socket of
//   its own; the loop thread and both strands may call them.
// - The environment is left as it is (NOTIFY_SOCKET stays set), because the
//   daemon notifies many times over its life.
// - Failures to send are ignored: systemd is then simply not told, and the
//   daemon works on. (A missed WATCHDOG=1 ends in a restart by systemd,
//   which is the point of the watchdog.)
// - Messages, in the order the daemon sends them:
//     ready(status)      READY=1 + STATUS=, once the database is open and
//                        the inbox is watched
//     status(line)       STATUS=<one line>, after each report and mail step
//     watchdog()         WATCHDOG=1, from the event loop
//     reloading()        RELOADING=1 (+ MONOTONIC_USEC=), on SIGHUP, then
//                        ready() once the new configuration is in effect
//                        (or refused)
//     stopping()         STOPPING=1, on SIGTERM or SIGINT
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace stockwatch::systemd {

// True when NOTIFY_SOCKET is set.
bool notify_enabled();

void ready(std::string_view status_line);
void status(std::string_view status_line);
void watchdog();
void reloading();
void stopping();

// The watchdog interval systemd expects pings within (WatchdogSec=, seen
// as WATCHDOG_USEC, and WATCHDOG_PID if set must be this process), or
// nullopt when the watchdog is off. Ping at half this interval.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace stockwatch::systemd

#include "daemon/log_format.hpp"

#include <spdlog/pattern_formatter.h>

#include <string>

#include "text/printable.hpp"

namespace stockwatch {

namespace {

// "<6> " and friends: the syslog priority prefix the journal understands.
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    int prio = 6;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prio = 7; break;
      case spdlog::level::info: prio = 6; break;
      case spdlog::level::warn: prio = 4; break;
      case spdlog::level::err: prio = 3; break;
      case spdlog::level::critical: prio = 2; break;
      default: break;
    }
    const char text[4] = {'<', static_cast<char>('0' + prio), '>', ' '};
    dest.append(text, text + 4);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

// The message, with control characters and bytes that are not UTF-8
// escaped: one log call, one line.
class SafeMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string safe;
    append_for_log(std::string_view(msg.payload.data(), msg.payload.size()), safe);
    dest.append(safe.data(), safe.data() + safe.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SafeMessageFlag>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(bool journal, const std::string& node) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<SafeMessageFlag>('V');
  // The name is checked by the configuration (letters, digits, . - _), so
  // it holds nothing the pattern would read as a flag but '%', which it
  // cannot hold.
  const std::string prefix = node.empty() ? "" : "[" + node + "] ";
  if (journal) {
    f->add_flag<SyslogPriorityFlag>('*').set_pattern("%*" + prefix + "%V");
  } else {
    f->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + prefix + "%V");
  }
  return f;
}

}  // namespace stockwatch

#include "daemon/logging.hpp"

#include "daemon/log_format.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>

namespace stockwatch {

bool is_journal_stream(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  int used = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &used) != 2 ||
      journal_stream[used] != '\0') {
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::get("stockwatch");
  if (!logger) logger = spdlog::stderr_color_mt("stockwatch");
  logger->set_formatter(make_log_formatter(is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO)));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

void set_log_node(const std::string& node) {
  auto logger = spdlog::get("stockwatch");
  if (!logger) return;
  logger->set_formatter(
      make_log_formatter(is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO), node));
}

}  // namespace stockwatch

#include "store/outbox_signal.hpp"

#include "store/postgresql/pg_listener.hpp"

namespace stockwatch {

std::unique_ptr<OutboxSignal> OutboxSignal::open(const std::filesystem::path& location,
                                                 const StorageOptions& options) {
  const std::string s = location.string();
  if (s.starts_with("postgresql://") || s.starts_with("postgres://")) {
    return PgListener::open(s, options);
  }
  return nullptr;
}

}  // namespace stockwatch

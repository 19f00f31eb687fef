// OutboxSignal on PostgreSQL: one connection that LISTENs on
// `stockwatch_outbox` (the channel PostgresStorage NOTIFYs when a commit
// queues messages). See store/outbox_signal.hpp for the contract.
#pragma once

#include <memory>
#include <string>

#include "store/outbox_signal.hpp"
#include "store/postgresql/pg.hpp"

namespace stockwatch {

// The channel's name, shared with the NOTIFY in postgresql_storage.cpp.
inline constexpr const char* kOutboxChannel = "stockwatch_outbox";

class PgListener final : public OutboxSignal {
 public:
  // Connects to `url` and LISTENs. Throws StorageError.
  static std::unique_ptr<PgListener> open(const std::string& url, const StorageOptions& options);
  [[nodiscard]] int fd() const override;
  [[nodiscard]] Result<int> drain() override;

 private:
  explicit PgListener(pg::Connection conn, std::string where)
      : conn_(std::move(conn)), where_(std::move(where)) {}
  pg::Connection conn_;
  std::string where_;
};

}  // namespace stockwatch

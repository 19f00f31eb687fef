// Word that mail was queued, from whichever node queued it: a node's
// mailer wakes at once for a message another node's checker queued,
// instead of at its next recheck.
//
// Contract:
// - On PostgreSQL: a connection of its own that LISTENs on the channel
//   `stockwatch_outbox`; every commit that queues messages (the checker's,
//   a schedule's, a dead message queued again) NOTIFYs it, so word comes
//   when the messages are visible, never before. Word is a hint, not a
//   queue: it may come for nothing and, while the connection is away, not
//   come at all (the mailer's recheck stays the safety net).
// - open() returns nullptr for a database that needs none (SQLite: one
//   process, which wakes its own mailer); throws StorageError when the
//   server cannot be reached.
// - fd() becomes readable when word may have come; drain() then reads it
//   without blocking and says how many notifications came (0: none), or
//   kTransient once the connection is lost (open a new one).
// - One thread at a time; the descriptor stays the object's.
#pragma once

#include <filesystem>
#include <memory>

#include "base/result.hpp"
#include "store/storage.hpp"

namespace stockwatch {

class OutboxSignal {
 public:
  virtual ~OutboxSignal() = default;
  [[nodiscard]] virtual int fd() const = 0;
  [[nodiscard]] virtual Result<int> drain() = 0;

  [[nodiscard]] static std::unique_ptr<OutboxSignal> open(const std::filesystem::path& location,
                                                          const StorageOptions& options);
};

}  // namespace stockwatch

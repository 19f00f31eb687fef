// The PostgreSQL backend of AccountStore (store/account_store.hpp): the
// console's tables in the same database as the rest, made by schema step 7
// of PostgresStorage, so every node sees the same accounts and sessions (a
// session begun on one node is good on the others behind a load balancer).
//
// Contract:
// - One connection of its own; not thread-safe (one per thread).
// - A lost connection (the server restarted, failover) fails the operation
//   in progress with kTransient; the next operation connects again.
// - Two nodes redeeming the one setup link at once: the row lock on the
//   link lets one create the owner; the other gets nullopt.
#pragma once

#include <memory>
#include <string>

#include "store/account_store.hpp"

namespace stockwatch {

// Throws StorageError when the server cannot be reached or the schema is
// older than 7 (open the database with PostgresStorage first, which
// migrates it).
[[nodiscard]] std::unique_ptr<AccountStore> open_pg_account_store(const std::string& url,
                                                                  const StorageOptions& options,
                                                                  const Clock& clock);

}  // namespace stockwatch

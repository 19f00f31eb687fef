// The SQLite backend of AccountStore (store/account_store.hpp): the
// console's tables in the same database file as the rest, made by schema
// step 6 of SqliteStorage. One connection, WAL mode, every statement
// prepared when it opens; not thread-safe.
#pragma once

#include <filesystem>
#include <memory>

#include "store/account_store.hpp"

namespace stockwatch {

// Throws StorageError when the file cannot be opened or its schema is
// older than 6 (open it with SqliteStorage first, which migrates it).
[[nodiscard]] std::unique_ptr<AccountStore> open_sqlite_account_store(
    const std::filesystem::path& file, const StorageOptions& options, const Clock& clock);

}  // namespace stockwatch

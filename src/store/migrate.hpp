// Moving over: copies an SQLite database (a single box's) into an empty
// PostgreSQL database, for nodes that will share it.
//
// Contract:
// - migrate_to_postgresql() first brings both schemas to this build's
//   version (as the daemon would at start: the SQLite file is upgraded in
//   place if it is older), then refuses a PostgreSQL database that holds
//   any row in a copied table (kInvalidInput, naming the table), then
//   copies every table of kMigratedTables in ONE transaction, fixes what
//   the PostgreSQL schema keeps differently (the change feed's and the
//   rejection feed's positions, identity sequences), and compares each
//   table's row count on both sides: any difference rolls everything back
//   (kCorrupt). Nothing is left half copied.
// - The SQLite file is only read once its schema is current; run it with
//   the daemon stopped, so that nothing is written meanwhile.
// - Errors are values; the connections' failures are kTransient.
// - A new table is one line of kMigratedTables (migrate.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct MigratedTable {
  std::string table;
  std::int64_t rows = 0;
};

[[nodiscard]] Result<std::vector<MigratedTable>> migrate_to_postgresql(
    const std::filesystem::path& sqlite_file, const std::string& url,
    const StorageOptions& options, const Clock& clock);

}  // namespace stockwatch

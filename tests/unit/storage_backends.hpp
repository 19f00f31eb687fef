// The backends every storage contract suite runs on: SQLite (a file in the
// test's temporary folder) and a real PostgreSQL 15, started on first use
// by pg_test_server.hpp. A suite is a TestWithParam<StorageBackend>
// instantiated with ValuesIn(storage_backends("<file>.db")); gtest names
// each instance by the backend ("sqlite", "postgresql").
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "pg_test_server.hpp"
#include "test_util.hpp"

namespace stockwatch::test {

struct StorageBackend {
  std::string name;
  // The location of a new, empty database (a file in `dir` for SQLite).
  std::function<std::filesystem::path(const TempDir& dir)> fresh;
};

// gtest prints a parameter by its name.
inline void PrintTo(const StorageBackend& b, std::ostream* os) { *os << b.name; }

// SQLite's database is `sqlite_file` in the test's folder; PostgreSQL's a
// fresh database of the shared test server.
inline std::vector<StorageBackend> storage_backends(const std::string& sqlite_file) {
  return {
      {"sqlite", [sqlite_file](const TempDir& dir) { return dir / sqlite_file; }},
      {"postgresql",
       [](const TempDir&) {
         auto& server = PgTestServer::instance();
         return std::filesystem::path(server.url(server.fresh_database()));
       }},
  };
}

}  // namespace stockwatch::test

// The PostgreSQL backend's own tests (what the contract suite does not
// cover), against a real PostgreSQL 15 started by the test harness
// (pg_test_server.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "pg_test_server.hpp"

namespace stockwatch {
namespace {

using test::PgTestServer;

TEST(PgTestServer, StartsUnprivilegedOnASocketAndGivesFreshDatabases) {
  auto& server = PgTestServer::instance();
  const std::string a = server.fresh_database();
  const std::string b = server.fresh_database();
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::filesystem::exists(server.dir() / ".s.PGSQL.5432"));
  // Both databases answer through the socket.
  for (const auto& db : {a, b}) {
    EXPECT_NO_THROW(server.run_as_self({std::string(PgTestServer::kBin) + "/psql", "-X", "-q",
                                        "-d", server.conninfo(db), "-c", "SELECT 1"}));
  }
}

}  // namespace
}  // namespace stockwatch

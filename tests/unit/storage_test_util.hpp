// Test helpers shared by the storage tests (the contract suite and the
// SQLite backend's own): sample ledger entries, loads and alert messages,
// made through the Storage interface only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "store/storage.hpp"

namespace stockwatch::test {

struct Row {
  std::string store;
  std::string item;
  std::int64_t count;
};

// A ledger entry of 42 bytes, received and finished now.
inline ReportRecord sample_record(const Clock& clock, const std::string& path,
                                  const std::string& sha,
                                  ReportStatus status = ReportStatus::kLoaded) {
  ReportRecord r;
  r.path = path;
  r.size = 42;
  r.sha256 = sha;
  r.status = status;
  r.received_at = clock.now();
  r.finished_at = clock.now();
  return r;
}

// Loads `rows` as one committed report through `s`; returns its id (0 and
// a test failure when it cannot).
inline std::int64_t load_rows(Storage& s, const Clock& clock, const std::vector<Row>& rows,
                              const std::string& path, const std::string& sha) {
  auto begun = s.begin_report();
  EXPECT_TRUE(begun.ok()) << begun.error().message();
  if (!begun.ok()) return 0;
  ReportLoad txn = std::move(begun).value();
  for (const auto& r : rows) {
    auto up = txn.upsert(r.store, r.item, r.count);
    EXPECT_TRUE(up.ok()) << up.error().message();
  }
  auto id = txn.commit(sample_record(clock, path, sha));
  EXPECT_TRUE(id.ok()) << id.error().message();
  return id.ok() ? *id : 0;
}

// An out-of-stock alert to owner@example.com, queued now.
inline OutboxMessage sample_message(const Clock& clock, const std::string& message_id,
                                    std::int64_t report_id, TimePoint next_attempt) {
  OutboxMessage m;
  m.message_id = message_id;
  m.report_id = report_id;
  m.event = "out_of_stock";
  m.sender = "stockwatch@example.com";
  m.recipient = "owner@example.com";
  m.subject = "Inventory Alert!";
  m.data = "Subject: Inventory Alert!\r\n\r\nMedan is out of stock of Robusta Dairi\r\n";
  m.created_at = clock.now();
  m.next_attempt_at = next_attempt;
  return m;
}

}  // namespace stockwatch::test

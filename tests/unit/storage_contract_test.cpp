// The storage contract: what every backend of Storage must do, written
// against the interface only (src/store/storage.hpp). Each backend is one
// entry of backends() below; a new backend adds its entry and runs these
// tests unchanged. Backend-specific behaviour (SQLite's schema steps,
// checkpoints, backup) is tested beside the backend, not here.
#include "store/item_names.hpp"
#include "store/sorted_inventory.hpp"
#include "store/storage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <tuple>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/event.hpp"
#include "pg_test_server.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

// How the tests reach one backend: a fresh, empty database per test, and
// connections to it.
struct Backend {
  std::string name;
  // The location of a new, empty database (a file in `dir` for SQLite).
  std::function<std::filesystem::path(const TempDir& dir)> fresh;
  // A new connection to the database at `location`.
  std::function<std::unique_ptr<Storage>(const std::filesystem::path& location, const Clock&)>
      connect;
};

// gtest prints a parameter by its name.
void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

std::vector<Backend> backends() {
  return {
      {"sqlite", [](const TempDir& dir) { return dir / "contract.db"; },
       [](const std::filesystem::path& location, const Clock& clock) {
         return Storage::open(location, StorageOptions{}, clock);
       }},
      // A real PostgreSQL 15, started on first use (pg_test_server.hpp).
      {"postgresql",
       [](const TempDir&) {
         auto& server = test::PgTestServer::instance();
         return std::filesystem::path(server.url(server.fresh_database()));
       },
       [](const std::filesystem::path& location, const Clock& clock) {
         return Storage::open(location, StorageOptions{}, clock);
       }},
  };
}

using test::Row;

class StorageContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = GetParam().fresh(dir_);
    storage_ = connect();
  }

  std::unique_ptr<Storage> connect() { return GetParam().connect(location_, clock_); }

  ReportRecord record(const std::string& path, const std::string& sha,
                      ReportStatus status = ReportStatus::kLoaded) const {
    return test::sample_record(clock_, path, sha, status);
  }

  std::int64_t load(Storage& s, const std::vector<Row>& rows, const std::string& path,
                    const std::string& sha) {
    return test::load_rows(s, clock_, rows, path, sha);
  }
  std::int64_t load(const std::vector<Row>& rows, const std::string& path,
                    const std::string& sha) {
    return load(*storage_, rows, path, sha);
  }

  OutboxMessage message(const std::string& message_id, std::int64_t report_id,
                        TimePoint next_attempt) const {
    return test::sample_message(clock_, message_id, report_id, next_attempt);
  }

  // Queues messages "m1".."mN", all due now; returns nothing.
  void queue(int n) {
    std::vector<OutboxMessage> msgs;
    for (int i = 1; i <= n; ++i) msgs.push_back(message("m" + std::to_string(i), 1, clock_.now()));
    ASSERT_TRUE(storage_->commit_check(0, 0, msgs).ok());
  }

  std::optional<std::int64_t> count(std::string_view store, std::string_view item) {
    auto c = storage_->count_of(store, item);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : std::nullopt;
  }

  TempDir dir_{"contract"};
  ManualClock clock_;
  std::filesystem::path location_;
  std::unique_ptr<Storage> storage_;
};

// --- Ledger ----------------------------------------------------------------------------

TEST_P(StorageContract, AnEmptyDatabaseHasNothing) {
  EXPECT_FALSE(storage_->next_pending_changes()->has_value());
  EXPECT_FALSE(storage_->next_pending_rejection()->has_value());
  EXPECT_TRUE(storage_->recent_reports(10)->empty());
  EXPECT_TRUE(storage_->due_messages(clock_.now(), 10)->empty());
  EXPECT_FALSE(storage_->next_due_time()->has_value());
  const auto c = storage_->outbox_counts();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->queued + c->sent + c->dead, 0);
  EXPECT_EQ(*storage_->count_reports_since(TimePoint{}), 0);
}

TEST_P(StorageContract, TheLedgerFindsReportsByContentPathAndSize) {
  const auto loaded = load({{"Medan", "Robusta", 3}}, "medan.csv", "sha-a");
  auto rejected = record("bad.csv", "sha-b", ReportStatus::kRejected);
  rejected.error = "line 2: no count\nline 3: no count";
  const auto rejected_id = storage_->record_report(rejected);
  ASSERT_TRUE(rejected_id.ok());
  auto dup = record("copy.csv", "sha-a", ReportStatus::kDuplicate);
  dup.duplicate_of = loaded;
  const auto dup_id = storage_->record_report(dup);
  ASSERT_TRUE(dup_id.ok());
  EXPECT_LT(loaded, *rejected_id);
  EXPECT_LT(*rejected_id, *dup_id);

  auto found = storage_->find_loaded("sha-a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, loaded);
  EXPECT_EQ((*found)->rows, 1);
  EXPECT_EQ((*found)->changes, 1);
  EXPECT_FALSE(storage_->find_loaded("sha-b")->has_value());
  auto latest = storage_->find_latest("bad.csv", "sha-b");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->status, ReportStatus::kRejected);
  EXPECT_EQ((*latest)->error, rejected.error);
  EXPECT_TRUE(*storage_->loaded_with_size(42));
  EXPECT_FALSE(*storage_->loaded_with_size(43));

  auto d = storage_->report(*dup_id);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->duplicate_of, loaded);
  ASSERT_TRUE(storage_->mark_archived(loaded, "/archive/medan.csv").ok());
  EXPECT_EQ((*storage_->report(loaded))->archived_path, "/archive/medan.csv");
  EXPECT_FALSE(storage_->report(*dup_id + 100)->has_value());

  auto recent = storage_->recent_reports(2);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].id, *dup_id);
  EXPECT_EQ(*storage_->count_reports_since(clock_.now()), 3);
  EXPECT_EQ(*storage_->count_reports_since(clock_.now() + 1s), 0);
}

// --- Report writer -----------------------------------------------------------------------

TEST_P(StorageContract, ACommittedLoadWritesRowsChangesAndTheLedger) {
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta", 3).ok());
  ASSERT_TRUE(txn.upsert("Medan", "Arabika", 0).ok());
  ASSERT_TRUE(txn.flush().ok());
  EXPECT_EQ(txn.rows(), 2);
  EXPECT_EQ(txn.changes(), 2);
  auto id = txn.commit(record("medan.csv", "sha-1"));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(txn.rows(), 2);  // still readable after the commit
  EXPECT_EQ(count("Medan", "Robusta"), 3);
  EXPECT_EQ(count("Medan", "Arabika"), 0);
  auto rep = storage_->report(*id);
  ASSERT_TRUE(rep.ok() && rep->has_value());
  EXPECT_EQ((*rep)->status, ReportStatus::kLoaded);
  EXPECT_EQ((*rep)->rows, 2);
  EXPECT_EQ((*rep)->changes, 2);
  EXPECT_EQ((*rep)->path, "medan.csv");
  // A second commit of the same load is refused.
  EXPECT_FALSE(txn.commit(record("medan.csv", "sha-1")).ok());
}

TEST_P(StorageContract, ALoadRollsBackUnlessCommitted) {
  const auto first = load({{"Medan", "Robusta", 3}}, "a.csv", "sha-a");
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Robusta", 0).ok());
    ASSERT_TRUE(txn.upsert("Medan", "Liberika", 5).ok());
    ASSERT_TRUE(txn.flush().ok());
  }  // destroyed without commit
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Gayo", 5).ok());
    txn.rollback();
    EXPECT_FALSE(txn.upsert("Medan", "Gayo", 6).ok());
    EXPECT_FALSE(txn.commit(record("x.csv", "sha-x")).ok());
  }
  EXPECT_EQ(count("Medan", "Robusta"), 3);
  EXPECT_FALSE(count("Medan", "Liberika").has_value());
  EXPECT_FALSE(count("Medan", "Gayo").has_value());
  auto recent = storage_->recent_reports(10);
  ASSERT_EQ(recent->size(), 1u);
  // The change feed holds the committed report only.
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, first);
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
  EXPECT_FALSE(storage_->next_pending_changes()->has_value());
  // The next load is not hindered by the ones rolled back.
  const auto next = load({{"Medan", "Gayo", 1}}, "b.csv", "sha-b");
  EXPECT_GT(next, first);
}

// --- Several transactions as one commit --------------------------------------------
TEST_P(StorageContract, AGroupKeepsWhatCommittedInsideItAndNotWhatRolledBack) {
  auto other = connect();
  ASSERT_TRUE(storage_->begin_group().ok());
  const auto a = load({{"Medan", "Robusta", 3}}, "a.csv", "sha-a");
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad dropped = std::move(begun).value();
    ASSERT_TRUE(dropped.upsert("Medan", "Liberika", 5).ok());
    ASSERT_TRUE(dropped.flush().ok());
  }  // rolled back: this load alone
  const auto b = load({{"Makassar", "Kalosi", 0}}, "b.csv", "sha-b");
  ASSERT_TRUE(storage_->mark_archived(a, "processed/a.csv").ok());
  // Inside the group, its own connection sees what it wrote.
  EXPECT_EQ(count("Medan", "Robusta"), 3);
  EXPECT_FALSE(count("Medan", "Liberika").has_value());
  if (storage_->groups_writes()) {
    // Nothing is seen elsewhere before the group's end, and groups do not nest.
    auto seen = other->count_of("Medan", "Robusta");
    ASSERT_TRUE(seen.ok());
    EXPECT_FALSE(seen->has_value());
    EXPECT_FALSE(storage_->begin_group().ok());
  }
  // Housekeeping inside a group does nothing and does not end it.
  EXPECT_TRUE(storage_->maintain().ok());
  ASSERT_TRUE(storage_->end_group().ok());
  auto seen = other->count_of("Makassar", "Kalosi");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, std::optional<std::int64_t>(0));
  auto liberika = other->count_of("Medan", "Liberika");
  ASSERT_TRUE(liberika.ok());
  EXPECT_FALSE(liberika->has_value());
  auto ra = other->report(a);
  ASSERT_TRUE(ra.ok() && ra->has_value());
  EXPECT_EQ((*ra)->archived_path, "processed/a.csv");
  auto ledger = other->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(ledger->size(), 2u);
  // The change feed holds both reports, in their order.
  auto p = other->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, a);
  ASSERT_TRUE(other->commit_check((*p)->last_seq, 0, {}).ok());
  p = other->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, b);
  // After the group, each write commits on its own again.
  const auto c = load({{"Medan", "Gayo", 1}}, "c.csv", "sha-c");
  EXPECT_GT(c, b);
  auto gayo = other->count_of("Medan", "Gayo");
  ASSERT_TRUE(gayo.ok());
  EXPECT_EQ(*gayo, std::optional<std::int64_t>(1));
}

TEST_P(StorageContract, AnAbandonedGroupKeepsNothingWhereTheBackendGroupsWrites) {
  ASSERT_TRUE(storage_->begin_group().ok());
  load({{"Medan", "Robusta", 3}}, "a.csv", "sha-a");
  storage_->abandon_group();
  auto ledger = storage_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  if (storage_->groups_writes()) {
    EXPECT_TRUE(ledger->empty());
    EXPECT_FALSE(count("Medan", "Robusta").has_value());
    EXPECT_FALSE(storage_->end_group().ok());   // nothing open any more
  } else {
    EXPECT_EQ(ledger->size(), 1u);
  }
  // The connection works on as before.
  load({{"Medan", "Gayo", 1}}, "b.csv", "sha-b");
  auto other = connect();
  auto gayo = other->count_of("Medan", "Gayo");
  ASSERT_TRUE(gayo.ok());
  EXPECT_EQ(*gayo, std::optional<std::int64_t>(1));
}

TEST_P(StorageContract, AMovedLoadCommitsOnce) {
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad a = std::move(begun).value();
  ASSERT_TRUE(a.upsert("Medan", "Robusta", 3).ok());
  ReportLoad b = std::move(a);
  EXPECT_FALSE(a.upsert("Medan", "Gayo", 1).ok());  // NOLINT: a moved-from load does nothing
  ASSERT_TRUE(b.commit(record("m.csv", "sha-m")).ok());
  EXPECT_EQ(count("Medan", "Robusta"), 3);
}

TEST_P(StorageContract, OnlyChangedCountsAreChanges) {
  load({{"Medan", "Robusta", 3}, {"Medan", "Gayo", 0}}, "a.csv", "sha-a");
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta", 3).ok());  // the same
  ASSERT_TRUE(txn.upsert("Medan", "Gayo", 4).ok());     // back in stock
  ASSERT_TRUE(txn.upsert("Medan", "Liberika", 0).ok()); // new, out of stock
  auto id = txn.commit(record("b.csv", "sha-b"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ((*storage_->report(*id))->changes, 2);
  EXPECT_EQ(count("Medan", "Gayo"), 4);
}

TEST_P(StorageContract, RememberKeySeesAKeyTwiceWithinOneLoadOnly) {
  for (int round = 0; round < 2; ++round) {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    EXPECT_FALSE(*txn.remember_key(7));
    EXPECT_TRUE(*txn.remember_key(7));
    EXPECT_FALSE(*txn.remember_key(8));
    ASSERT_TRUE(txn.commit(record("k.csv", "sha-k" + std::to_string(round))).ok());
  }
}

TEST_P(StorageContract, ASecondConnectionWaitsForTheWriterAndIdsStayDistinct) {
  auto other = connect();
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  {
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Robusta", 3).ok());
    ASSERT_TRUE(txn.commit(record("a.csv", "sha-a")).ok());
  }
  // Connections taking turns: ids and change numbers grow in commit order.
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    Storage& s = i % 2 ? *other : *storage_;
    ids.push_back(load(s, {{"Store" + std::to_string(i), "Item", i}}, "r.csv",
                       "sha-" + std::to_string(i)));
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), ids.size());
  std::int64_t last_seq = 0;
  std::vector<std::int64_t> fed;
  while (true) {
    auto p = other->next_pending_changes();
    ASSERT_TRUE(p.ok());
    if (!p->has_value()) break;
    EXPECT_GT((*p)->last_seq, last_seq);
    last_seq = (*p)->last_seq;
    fed.push_back((*p)->report_id);
    ASSERT_TRUE(other->commit_check(last_seq, 0, {}).ok());
  }
  // Every report with an alerting change (count 0 is the first one only),
  // then the quiet ones too: the feed passes each report once, in order.
  EXPECT_TRUE(std::is_sorted(fed.begin(), fed.end()));
  EXPECT_EQ(std::set<std::int64_t>(fed.begin(), fed.end()).size(), fed.size());
}

// --- Change feed -------------------------------------------------------------------------

TEST_P(StorageContract, TheChangeFeedComesReportByReportAndPageByPage) {
  std::vector<Row> rows;
  for (int i = 0; i < 5; ++i) rows.push_back({"Medan", "zero-" + std::to_string(i), 0});
  rows.push_back({"Medan", "some", 4});
  const auto r1 = load(rows, "a.csv", "sha-a");
  const auto r2 = load({{"Medan", "zero-0", 2}}, "b.csv", "sha-b");  // back in stock

  auto p = storage_->next_pending_changes(2);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, r1);
  EXPECT_EQ((*p)->report_path, "a.csv");
  std::vector<std::string> seen;
  std::int64_t last = 0;
  while (true) {
    for (const auto& c : (*p)->of(EventKind::kOutOfStock)) {
      EXPECT_EQ(c.new_count, 0);
      EXPECT_EQ(c.kind, ChangeKind::kInsert);
      EXPECT_GT(c.seq, last);
      last = c.seq;
      seen.push_back(c.item);
    }
    EXPECT_TRUE((*p)->of(EventKind::kBackInStock).empty());
    if ((*p)->more_after == 0) break;
    // The cursor may stop inside a report.
    ASSERT_TRUE(storage_->commit_check((*p)->more_after, 0, {}).ok());
    ASSERT_TRUE(storage_->next_change_page(**p, 2).ok());
  }
  EXPECT_EQ(seen.size(), 5u);
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());

  p = storage_->next_pending_changes(2);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, r2);
  const auto back = (*p)->of(EventKind::kBackInStock);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].old_count, 0);
  EXPECT_EQ(back[0].new_count, 2);
  EXPECT_EQ(back[0].kind, ChangeKind::kModify);
  EXPECT_EQ(back[0].event, EventKind::kBackInStock);
  const auto end = (*p)->last_seq;
  ASSERT_TRUE(storage_->commit_check(end, 0, {}).ok());
  EXPECT_FALSE(storage_->next_pending_changes()->has_value());
  // A cursor never moves back.
  ASSERT_TRUE(storage_->commit_check(1, 0, {}).ok());
  EXPECT_FALSE(storage_->next_pending_changes()->has_value());
}

TEST_P(StorageContract, RejectionsFollowTheirOwnCursor) {
  auto a = storage_->record_report(record("a.csv", "sha-a", ReportStatus::kRejected));
  auto b = storage_->record_report(record("b.csv", "sha-b", ReportStatus::kRejected));
  ASSERT_TRUE(a.ok() && b.ok());
  auto next = storage_->next_pending_rejection();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->id, *a);
  ASSERT_TRUE(storage_->commit_check(0, *a, {}).ok());
  EXPECT_EQ((*storage_->next_pending_rejection())->id, *b);
  ASSERT_TRUE(storage_->commit_check(0, *b, {}).ok());
  EXPECT_FALSE(storage_->next_pending_rejection()->has_value());
}

TEST_P(StorageContract, EachChangeRaisesTheEventStockEventDecides) {
  // Every pair of counts before and after, in one report each way: the
  // events the backend stores are the ones stock_event() decides.
  const std::vector<std::optional<std::int64_t>> befores = {std::nullopt, 0, 1, 5};
  const std::vector<std::int64_t> afters = {0, 1, 5};
  std::vector<Row> first, second;
  for (std::size_t b = 0; b < befores.size(); ++b) {
    for (std::size_t a = 0; a < afters.size(); ++a) {
      const std::string item = "i" + std::to_string(b) + std::to_string(a);
      if (befores[b]) first.push_back({"Medan", item, *befores[b]});
      second.push_back({"Medan", item, afters[a]});
    }
  }
  const auto r1 = load(first, "a.csv", "sha-a");
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  ASSERT_EQ((*p)->report_id, r1);
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
  const auto r2 = load(second, "b.csv", "sha-b");
  p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  ASSERT_EQ((*p)->report_id, r2);
  ASSERT_EQ((*p)->more_after, 0);
  std::map<std::string, EventKind> got;
  for (const auto& c : (*p)->events) got[c.item] = *c.event;
  for (std::size_t b = 0; b < befores.size(); ++b) {
    for (std::size_t a = 0; a < afters.size(); ++a) {
      const std::string item = "i" + std::to_string(b) + std::to_string(a);
      const bool changed = !befores[b] || *befores[b] != afters[a];
      const auto want = changed ? stock_event(befores[b], afters[a]) : std::nullopt;
      const auto it = got.find(item);
      if (want) {
        ASSERT_NE(it, got.end()) << item;
        EXPECT_EQ(it->second, *want) << item;
      } else {
        EXPECT_EQ(it, got.end()) << item;
      }
    }
  }
}

TEST_P(StorageContract, ConcurrentLoadsAndACheckerMissNothingAndKeepEachKeysOrder) {
  // Two connections load reports over the same keys at once while a third
  // follows the change feed, moving its cursor as the checker does. Every
  // event is seen exactly once, and for each key its events alternate (out
  // of stock, back in stock, ...) in feed order, as the counts went.
  constexpr int kReports = 12;
  constexpr int kKeys = 40;
  auto a = connect();
  auto b = connect();
  auto checker = connect();
  std::atomic<bool> loading = true, failed = false;
  std::vector<ChangeRecord> seen;
  auto follow = [&] {
    while (true) {
      const bool last_round = !loading.load();
      while (true) {
        auto p = checker->next_pending_changes(7);
        if (!p) {
          failed = true;
          return;
        }
        if (!p->has_value()) break;
        while (true) {
          for (const auto& c : (*p)->events) seen.push_back(c);
          if ((*p)->more_after == 0) break;
          if (!checker->next_change_page(**p, 7).ok()) {
            failed = true;
            return;
          }
        }
        if (!checker->commit_check((*p)->last_seq, 0, {}).ok()) {
          failed = true;
          return;
        }
      }
      if (last_round) return;
    }
  };
  auto writer = [&](Storage& s, int who) {
    std::uint64_t x = 88172645463325252ULL + static_cast<std::uint64_t>(who);
    for (int r = 0; r < kReports; ++r) {
      std::vector<Row> rows;
      for (int k = 0; k < kKeys; ++k) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char name[8];
        std::snprintf(name, sizeof name, "k%02d", k);
        rows.push_back({"Medan", name, static_cast<std::int64_t>(x % 3)});
      }
      const std::string sha = "sha-" + std::to_string(who) + "-" + std::to_string(r);
      while (true) {
        auto begun = s.begin_report();
        if (!begun) {
          if (begun.error().code() == ErrorCode::kBusy) continue;
          failed = true;
          return;
        }
        ReportLoad txn = std::move(begun).value();
        bool ok = true;
        for (const auto& row : rows) ok = ok && txn.upsert(row.store, row.item, row.count).ok();
        auto id = ok ? txn.commit(record("r.csv", sha)) : Result<std::int64_t>(Error());
        if (id) break;
        if (id.error().code() != ErrorCode::kBusy) {
          failed = true;
          return;
        }
      }
    }
  };
  std::thread tc(follow);
  std::thread ta([&] { writer(*a, 1); });
  std::thread tb([&] { writer(*b, 2); });
  ta.join();
  tb.join();
  loading = false;
  tc.join();
  ASSERT_FALSE(failed);
  std::set<std::int64_t> seqs;
  std::map<std::string, EventKind> last;
  for (const auto& c : seen) {
    EXPECT_TRUE(seqs.insert(c.seq).second) << "change " << c.seq << " seen twice";
    const auto it = last.find(c.item);
    if (it != last.end()) {
      EXPECT_NE(it->second, *c.event) << c.item << ": the same event twice in a row at " << c.seq;
    }
    last[c.item] = *c.event;
  }
  EXPECT_FALSE(checker->next_pending_changes()->has_value());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(), [](const auto& x, const auto& y) {
    return x.seq < y.seq;
  }));
  // The last event of each key agrees with its count now: none missed at
  // the end either.
  for (int k = 0; k < kKeys; ++k) {
    char name[8];
    std::snprintf(name, sizeof name, "k%02d", k);
    const auto now = count("Medan", name);
    ASSERT_TRUE(now.has_value());
    const auto it = last.find(name);
    if (*now == 0) {
      ASSERT_NE(it, last.end()) << name;
      EXPECT_EQ(it->second, EventKind::kOutOfStock) << name;
    } else if (it != last.end()) {
      EXPECT_EQ(it->second, EventKind::kBackInStock) << name;
    }
  }
}

// --- Outbox ------------------------------------------------------------------------------

TEST_P(StorageContract, CommitCheckQueuesEachMessageIdOnce) {
  ASSERT_TRUE(storage_->commit_check(0, 0, {message("a", 1, clock_.now())}).ok());
  ASSERT_TRUE(storage_->commit_check(0, 0, {message("a", 1, clock_.now()),
                                            message("b", 1, clock_.now())})
                  .ok());
  auto all = storage_->list_outbox(true, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].message_id, "b");  // newest first
  EXPECT_EQ((*all)[1].data, message("a", 1, clock_.now()).data);
  EXPECT_EQ(storage_->outbox_counts()->queued, 2);
}

// Nodes polling one shared inbox: one holds each file until it gives the
// claim up or its lease ends; a new file under the same name is new.
TEST_P(StorageContract, AnInboxFileIsClaimedByOneNodeAtATime) {
  const auto t0 = clock_.now();
  auto other = connect();
  EXPECT_TRUE(*storage_->claim_inbox_file("a.csv|6|1", "node-a", t0, 60s));
  EXPECT_FALSE(*other->claim_inbox_file("a.csv|6|1", "node-b", t0 + 59s, 60s));
  EXPECT_TRUE(*other->claim_inbox_file("a.csv|7|2", "node-b", t0, 60s));  // another file
  EXPECT_TRUE(*storage_->claim_inbox_file("a.csv|6|1", "node-a", t0 + 1s, 60s));  // its own
  // Giving up someone else's claim changes nothing; giving up its own frees it.
  ASSERT_TRUE(other->release_inbox_file("a.csv|6|1", "node-b").ok());
  EXPECT_FALSE(*other->claim_inbox_file("a.csv|6|1", "node-b", t0 + 2s, 60s));
  ASSERT_TRUE(storage_->release_inbox_file("a.csv|6|1", "node-a").ok());
  EXPECT_TRUE(*other->claim_inbox_file("a.csv|6|1", "node-b", t0 + 2s, 60s));
  // A claimant that died: its lease ends, and another takes the file.
  EXPECT_FALSE(*storage_->claim_inbox_file("a.csv|6|1", "node-a", t0 + 61s, 60s));
  EXPECT_TRUE(*storage_->claim_inbox_file("a.csv|6|1", "node-a", t0 + 62s, 60s));
}

// A file database never loses its connection; a server's answers while it
// has it.
TEST_P(StorageContract, AWorkingConnectionHasNoProblem) {
  EXPECT_EQ(storage_->connection_problem(), std::nullopt);
  ASSERT_TRUE(storage_->open_outbox_counts().ok());
  EXPECT_EQ(storage_->connection_problem(), std::nullopt);
}

TEST_P(StorageContract, AClaimIsHeldUntilItsOutcomeOrTheEndOfItsLease) {
  queue(3);
  const auto t0 = clock_.now();
  auto mine = storage_->claim_due(t0, 2, "me", 60s);
  ASSERT_TRUE(mine.ok()) << mine.error().message();
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].message_id, "m1");  // oldest due first
  EXPECT_EQ((*mine)[1].message_id, "m2");
  EXPECT_EQ((*mine)[0].claimed_by, "me");
  EXPECT_EQ((*mine)[0].claim_expires_at, t0 + 60s);
  EXPECT_FALSE((*mine)[0].data.empty());

  auto other = connect();
  auto theirs = other->claim_due(t0, 10, "them", 60s);
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ((*theirs)[0].message_id, "m3");
  EXPECT_TRUE(other->claim_due(t0 + 59s, 10, "a third", 60s)->empty());
  // Held messages are due again when their leases end.
  EXPECT_EQ(**storage_->next_due_time(), t0 + 60s);

  // An outcome ends the claim.
  ASSERT_TRUE(storage_->mark_sent((*mine)[0].id, t0 + 1s).ok());
  ASSERT_TRUE(storage_->mark_retry((*mine)[1].id, t0 + 10s, "421 busy").ok());
  EXPECT_TRUE(other->claim_due(t0 + 9s, 10, "a third", 60s)->empty());
  auto retried = other->claim_due(t0 + 10s, 10, "a third", 60s);
  ASSERT_EQ(retried->size(), 1u);
  EXPECT_EQ((*retried)[0].message_id, "m2");
  EXPECT_EQ((*retried)[0].attempts, 1);
  EXPECT_EQ((*retried)[0].last_error, "421 busy");

  // A claimant claiming again under its name (restarted) takes its own
  // claims back; the others' stay theirs.
  auto back = other->claim_due(t0 + 11s, 10, "them", 60s);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].message_id, "m3");
  EXPECT_EQ((*back)[0].claim_expires_at, t0 + 71s);

  // A lease that ends without an outcome (its holder died): claimable again.
  EXPECT_TRUE(storage_->claim_due(t0 + 69s, 10, "me", 60s)->empty());
  auto again = storage_->claim_due(t0 + 71s, 10, "me", 60s);
  ASSERT_TRUE(again.ok());
  std::set<std::string> ids;
  for (const auto& m : *again) ids.insert(m.message_id);
  EXPECT_EQ(ids, (std::set<std::string>{"m2", "m3"}));
  const auto sent = storage_->list_outbox(true, 10);
  for (const auto& m : *sent) {
    if (m.message_id == "m1") {
      EXPECT_EQ(m.state, OutboxState::kSent);
      EXPECT_EQ(m.sent_at, t0 + 1s);
      EXPECT_TRUE(m.claimed_by.empty());
    }
  }
}

TEST_P(StorageContract, DeadMessagesAreListedByIdAndQueuedAgain) {
  queue(3);
  auto claimed = storage_->claim_due(clock_.now(), 3, "me", 60s);
  ASSERT_EQ(claimed->size(), 3u);
  ASSERT_TRUE(storage_->mark_dead((*claimed)[0].id, "550 no such user").ok());
  ASSERT_TRUE(storage_->mark_dead((*claimed)[2].id, "550 no such user").ok());
  ASSERT_TRUE(storage_->mark_sent((*claimed)[1].id, clock_.now()).ok());
  auto dead = storage_->outbox_ids(OutboxState::kDead, 10);
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(*dead, (std::vector<std::int64_t>{(*claimed)[0].id, (*claimed)[2].id}));
  EXPECT_EQ(storage_->outbox_ids(OutboxState::kDead, 1)->size(), 1u);

  const auto counts = storage_->outbox_counts();
  EXPECT_EQ(counts->dead, 2);
  EXPECT_EQ(counts->sent, 1);
  EXPECT_EQ(counts->queued, 0);
  const auto open = storage_->open_outbox_counts();
  EXPECT_EQ(open->dead, 2);
  EXPECT_EQ(open->sent, 0);
  EXPECT_EQ(storage_->list_outbox(false, 10)->size(), 2u);

  clock_.advance(1h);
  EXPECT_TRUE(*storage_->requeue((*claimed)[0].id, clock_.now()));
  EXPECT_FALSE(*storage_->requeue((*claimed)[1].id, clock_.now()));  // sent, not dead
  EXPECT_FALSE(*storage_->requeue(999999, clock_.now()));
  auto due = storage_->claim_due(clock_.now(), 10, "me", 60s);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 0);
  EXPECT_EQ((*due)[0].created_at, clock_.now());
}

TEST_P(StorageContract, TwoConnectionsRacingToClaimNeverGetOneMessageTwice) {
  constexpr int kMessages = 200;
  queue(kMessages);
  auto a = connect();
  auto b = connect();
  const TimePoint now = clock_.now();
  std::vector<std::int64_t> got_a, got_b;
  std::atomic<bool> failed = false;
  auto drain = [&](Storage& s, const char* who, std::vector<std::int64_t>& got) {
    while (true) {
      auto c = s.claim_due(now, 3, who, 10min);
      if (!c) {
        failed = true;
        return;
      }
      if (c->empty()) return;
      // Delivered: recorded as a mailer does, which ends the claim.
      for (const auto& m : *c) {
        got.push_back(m.id);
        if (!s.mark_sent(m.id, now).ok()) {
          failed = true;
          return;
        }
      }
    }
  };
  std::thread ta([&] { drain(*a, "a", got_a); });
  std::thread tb([&] { drain(*b, "b", got_b); });
  ta.join();
  tb.join();
  ASSERT_FALSE(failed);
  std::set<std::int64_t> all(got_a.begin(), got_a.end());
  for (auto id : got_b) EXPECT_TRUE(all.insert(id).second) << "message " << id << " claimed twice";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(got_a.size() + got_b.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(storage_->outbox_counts()->sent, kMessages);
}

// --- Listings ----------------------------------------------------------------------------

TEST_P(StorageContract, ListingsPageNewestFirstAndTheOutboxWithoutBodies) {
  load({{"Medan", "a", 0}, {"Medan", "b", 1}, {"Padang", "c", 0}}, "a.csv", "sha-a");
  auto rej = storage_->record_report(record("bad.csv", "sha-b", ReportStatus::kRejected));
  ASSERT_TRUE(rej.ok());
  queue(3);

  InventoryQuery q;
  q.limit = 2;
  auto inv = storage_->list_inventory(q);
  ASSERT_TRUE(inv.ok());
  ASSERT_EQ(inv->size(), 2u);
  EXPECT_EQ((*inv)[1].item, "b");
  q.after = std::pair((*inv)[1].store, (*inv)[1].item);
  inv = storage_->list_inventory(q);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].store, "Padang");
  InventoryQuery zeros;
  zeros.out_of_stock_only = true;
  zeros.store = "Medan";
  inv = storage_->list_inventory(zeros);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].item, "a");

  auto reps = storage_->reports_page(0, std::nullopt, 10);
  ASSERT_EQ(reps->size(), 2u);
  EXPECT_EQ((*reps)[0].id, *rej);
  EXPECT_EQ(storage_->reports_page(*rej, std::nullopt, 10)->size(), 1u);
  EXPECT_EQ(storage_->reports_page(0, ReportStatus::kRejected, 10)->size(), 1u);

  auto page = storage_->outbox_page(0, std::nullopt, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].message_id, "m3");
  EXPECT_EQ((*page)[0].subject, "Inventory Alert!");
  EXPECT_TRUE((*page)[0].data.empty());
  page = storage_->outbox_page((*page)[1].id, OutboxState::kQueued, 2);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].message_id, "m1");
  EXPECT_TRUE(storage_->outbox_page(0, OutboxState::kDead, 2)->empty());

  // Search by item name: ASCII letters without case, within a store or not,
  // with the other filters and paging.
  load({{"Medan", "Arabika Gayo", 3}, {"Padang", "arabika solok", 0}, {"Padang", "Kopi Ärabika", 2}},
       "names.csv", "sha-names");
  InventoryQuery search;
  search.item_contains = "ARABIKA";
  inv = storage_->list_inventory(search);
  ASSERT_TRUE(inv.ok()) << inv.error().message();
  ASSERT_EQ(inv->size(), 2u);
  EXPECT_EQ((*inv)[0].item, "Arabika Gayo");
  EXPECT_EQ((*inv)[1].item, "arabika solok");
  search.item_contains = "ärabika";  // only ASCII folds: "Ä" is not "ä"
  EXPECT_EQ(storage_->list_inventory(search)->size(), 0u);
  search.item_contains = "Ärabika";
  EXPECT_EQ(storage_->list_inventory(search)->size(), 1u);
  search.item_contains = "arabika";
  search.store = "Padang";
  search.out_of_stock_only = true;
  inv = storage_->list_inventory(search);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].item, "arabika solok");
  InventoryQuery paged;
  paged.item_contains = "arabika";
  paged.limit = 1;
  paged.after = std::pair(std::string("Medan"), std::string("Arabika Gayo"));
  inv = storage_->list_inventory(paged);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].item, "arabika solok");
  InventoryQuery literal;
  literal.item_contains = "%";  // no wildcards
  EXPECT_EQ(storage_->list_inventory(literal)->size(), 0u);
}

// Connections given one list of item names (StorageOptions::item_names, as
// the console's workers are) read it once and each finds the items another
// connection's load added, searching and listing by item; more than one
// piece of names (the listing by item reads them 256 at a time).
TEST_P(StorageContract, ConnectionsSharingTheItemNamesFindEachOthersNewItems) {
  std::vector<Row> rows;
  for (int i = 0; i < 300; ++i) rows.push_back({"Medan", "Kopi " + std::to_string(1000 + i), 1});
  load(rows, "first.csv", "sha-first");
  StorageOptions options;
  options.item_names = std::make_shared<ItemNames>();
  auto a = Storage::open(location_, options, clock_);
  auto b = Storage::open(location_, options, clock_);
  InventoryQuery search;
  search.item_contains = "kopi 1299";
  ASSERT_EQ(a->list_inventory(search)->size(), 1u);
  EXPECT_EQ(options.item_names->size(), 300u);   // read once, by `a`
  load(*storage_, {{"Padang", "Teh Melati", 4}, {"Medan", "Kopi 1299", 2}}, "next.csv", "sha-next");
  search.item_contains = "melati";
  auto found = b->list_inventory(search);
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].store, "Padang");
  EXPECT_EQ(a->list_inventory(search)->size(), 1u);
  EXPECT_EQ(options.item_names->size(), 301u);
  InventoryQuery by_item;
  by_item.order = InventoryOrder::kItem;
  by_item.limit = 1000;
  auto all = a->list_inventory(by_item);
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_EQ(all->size(), 301u);
  EXPECT_EQ(all->front().item, "Kopi 1000");
  EXPECT_EQ(all->back().item, "Teh Melati");
  EXPECT_EQ((*all)[299].count, 2);   // Kopi 1299, as the second report left it
  by_item.after = std::pair(std::string("Medan"), std::string("Kopi 1270"));
  by_item.limit = 40;
  auto page = b->list_inventory(by_item);
  ASSERT_EQ(page->size(), 30u);
  EXPECT_EQ(page->front().item, "Kopi 1271");
}

// A search that many item names match (more than the backends look up by
// name) gives the same pages, in the same order, as one that few match.
TEST_P(StorageContract, ASearchThatManyNamesMatchPagesInKeyOrder) {
  std::vector<Row> rows;
  for (int i = 0; i < 400; ++i) {
    const std::string n = std::to_string(1000 + i);
    rows.push_back({"Medan", "Kopi " + n, i % 2});
    rows.push_back({"Padang", "Kopi " + n, 1});
  }
  rows.push_back({"Padang", "Teh Melati", 0});
  load(rows, "many.csv", "sha-many");
  InventoryQuery many;
  many.item_contains = "kopi";
  many.limit = 3;
  many.after = std::pair(std::string("Medan"), std::string("Kopi 1398"));
  auto inv = storage_->list_inventory(many);
  ASSERT_TRUE(inv.ok()) << inv.error().message();
  ASSERT_EQ(inv->size(), 3u);
  EXPECT_EQ((*inv)[0].store, "Medan");
  EXPECT_EQ((*inv)[0].item, "Kopi 1399");
  EXPECT_EQ((*inv)[1].store, "Padang");
  EXPECT_EQ((*inv)[1].item, "Kopi 1000");
  many.after.reset();
  many.limit = 1000;
  many.out_of_stock_only = true;
  EXPECT_EQ(storage_->list_inventory(many)->size(), 200u);
  InventoryQuery few;
  few.item_contains = "KOPI 12";   // Kopi 1200 .. Kopi 1299: 100 names
  few.limit = 1000;
  inv = storage_->list_inventory(few);
  ASSERT_EQ(inv->size(), 200u);
  EXPECT_EQ((*inv)[0].store, "Medan");
  EXPECT_EQ((*inv)[0].item, "Kopi 1200");
  EXPECT_EQ((*inv)[199].store, "Padang");
  EXPECT_EQ((*inv)[199].item, "Kopi 1299");
  few.store = "Padang";
  few.limit = 2;
  few.after = std::pair(std::string("Padang"), std::string("Kopi 1250"));
  inv = storage_->list_inventory(few);
  ASSERT_EQ(inv->size(), 2u);
  EXPECT_EQ((*inv)[0].item, "Kopi 1251");
  few.item_contains = "melati";
  few.store.reset();
  few.after.reset();
  inv = storage_->list_inventory(few);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].item, "Teh Melati");
  few.item_contains = "no such name";
  EXPECT_TRUE(storage_->list_inventory(few)->empty());
}

// The search finds the items of every load, whichever store brought the
// name first, and skips stores without any of the names; a load rolled back
// leaves nothing to find.
TEST_P(StorageContract, TheSearchFindsEveryLoadsNewItemsAndSkipsStoresWithoutThem) {
  std::vector<Row> rows;
  for (int i = 0; i < 100; ++i) rows.push_back({"Aceh", "Teh " + std::to_string(100 + i), 1});
  rows.push_back({"Medan", "Kopi Gayo", 0});
  for (int i = 0; i < 100; ++i) rows.push_back({"Medan", "Teh " + std::to_string(100 + i), 1});
  load(rows, "first.csv", "sha-first");
  InventoryQuery gayo;
  gayo.item_contains = "gayo";
  auto inv = storage_->list_inventory(gayo);
  ASSERT_TRUE(inv.ok()) << inv.error().message();
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].store, "Medan");

  // A later report: the name is known, a store is new; another name is new;
  // a count changes.
  load({{"Padang", "Kopi Gayo", 4}, {"Zamboanga", "Kopi Gayo Wine", 0}, {"Medan", "Kopi Gayo", 7},
        {"Padang", "Teh 150", 3}},
       "second.csv", "sha-second");
  inv = storage_->list_inventory(gayo);
  ASSERT_EQ(inv->size(), 3u);
  EXPECT_EQ((*inv)[0].store, "Medan");
  EXPECT_EQ((*inv)[0].count, 7);
  EXPECT_EQ((*inv)[1].store, "Padang");
  EXPECT_EQ((*inv)[2].store, "Zamboanga");
  EXPECT_EQ((*inv)[2].item, "Kopi Gayo Wine");
  gayo.out_of_stock_only = true;
  inv = storage_->list_inventory(gayo);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].store, "Zamboanga");
  gayo.out_of_stock_only = false;
  gayo.limit = 1;
  gayo.after = std::pair(std::string("Medan"), std::string("Kopi Gayo"));
  inv = storage_->list_inventory(gayo);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].store, "Padang");
  InventoryQuery teh;
  teh.item_contains = "teh 15";
  teh.limit = 100;
  inv = storage_->list_inventory(teh);
  ASSERT_EQ(inv->size(), 21u);   // Teh 150..159 in Aceh and Medan, Teh 150 in Padang
  EXPECT_EQ((*inv)[20].store, "Padang");
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Kopi Kintamani", 5).ok());
    ASSERT_TRUE(txn.flush().ok());
  }  // destroyed without commit
  InventoryQuery kintamani;
  kintamani.item_contains = "kintamani";
  EXPECT_TRUE(storage_->list_inventory(kintamani)->empty());
  load({{"Aceh", "Kopi Kintamani", 2}}, "third.csv", "sha-third");
  inv = storage_->list_inventory(kintamani);
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].store, "Aceh");
}

// A connection that searched once (the console's) finds the items another
// connection (the loader's) loads afterwards, new names and new stores of
// known names alike, in the search and in the listing by item.
TEST_P(StorageContract, ASearchFindsWhatAnotherConnectionLoadedAfterItsFirstSearch) {
  load({{"Medan", "Kopi Gayo", 3}}, "first.csv", "sha-first");
  auto reader = connect();
  InventoryQuery kopi;
  kopi.item_contains = "kopi";
  ASSERT_EQ(reader->list_inventory(kopi)->size(), 1u);
  load({{"Padang", "Kopi Gayo", 1}, {"Padang", "Kopi Solok", 0}}, "second.csv", "sha-second");
  auto inv = reader->list_inventory(kopi);
  ASSERT_TRUE(inv.ok()) << inv.error().message();
  ASSERT_EQ(inv->size(), 3u);
  EXPECT_EQ((*inv)[2].item, "Kopi Solok");
  InventoryQuery by_item;
  by_item.order = InventoryOrder::kItem;
  inv = reader->list_inventory(by_item);
  ASSERT_EQ(inv->size(), 3u);
  EXPECT_EQ((*inv)[1].store, "Padang");
  EXPECT_EQ((*inv)[2].item, "Kopi Solok");
  // A name that needs quoting (PostgreSQL's array of names).
  load({{"Aceh", "Kopi \"Wine\", {Gayo}\\", 2}}, "third.csv", "sha-third");
  InventoryQuery wine;
  wine.item_contains = "\"wine\"";
  inv = reader->list_inventory(wine);
  ASSERT_TRUE(inv.ok()) << inv.error().message();
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ((*inv)[0].item, "Kopi \"Wine\", {Gayo}\\");
}

// Every order of the inventory lists every row once, pages included, with
// each filter: by item then store, by count, by the newest change.
TEST_P(StorageContract, TheInventorySortsByItemCountAndLastChangeAndPagesThrough) {
  load({{"Medan", "Kopi B", 5}, {"Medan", "Kopi A", 0}, {"Padang", "Kopi A", 5},
        {"Padang", "Teh", 2}, {"Aceh", "Kopi B", 0}},
       "first.csv", "sha-first");
  clock_.advance(std::chrono::minutes(5));
  load({{"Padang", "Kopi C", 1}, {"Medan", "Kopi B", 3}}, "second.csv", "sha-second");
  using Key = std::pair<std::string, std::string>;
  // Every page of `q`, two rows at a time.
  const auto all_pages = [&](InventoryQuery q) {
    std::vector<Key> keys;
    q.limit = 2;
    for (int guard = 0; guard < 20; ++guard) {
      auto page = storage_->list_inventory(q);
      EXPECT_TRUE(page.ok()) << page.error().message();
      if (!page.ok()) break;
      for (const auto& r : *page) keys.emplace_back(r.store, r.item);
      if (page->size() < 2) break;
      const auto& last = page->back();
      q.after = Key(last.store, last.item);
      q.after_value = q.order == InventoryOrder::kCount ? last.count : to_unix_ms(last.updated_at);
    }
    return keys;
  };
  InventoryQuery q;
  q.order = InventoryOrder::kItem;
  EXPECT_EQ(all_pages(q), (std::vector<Key>{{"Medan", "Kopi A"}, {"Padang", "Kopi A"},
                                            {"Aceh", "Kopi B"}, {"Medan", "Kopi B"},
                                            {"Padang", "Kopi C"}, {"Padang", "Teh"}}));
  q.order = InventoryOrder::kCount;
  EXPECT_EQ(all_pages(q), (std::vector<Key>{{"Aceh", "Kopi B"}, {"Medan", "Kopi A"},
                                            {"Padang", "Kopi C"}, {"Padang", "Teh"},
                                            {"Medan", "Kopi B"}, {"Padang", "Kopi A"}}));
  q.order = InventoryOrder::kChanged;
  EXPECT_EQ(all_pages(q), (std::vector<Key>{{"Medan", "Kopi B"}, {"Padang", "Kopi C"},
                                            {"Aceh", "Kopi B"}, {"Medan", "Kopi A"},
                                            {"Padang", "Kopi A"}, {"Padang", "Teh"}}));
  // With the filters.
  q.order = InventoryOrder::kItem;
  q.item_contains = "kopi";
  EXPECT_EQ(all_pages(q), (std::vector<Key>{{"Medan", "Kopi A"}, {"Padang", "Kopi A"},
                                            {"Aceh", "Kopi B"}, {"Medan", "Kopi B"},
                                            {"Padang", "Kopi C"}}));
  q.out_of_stock_only = true;
  EXPECT_EQ(all_pages(q), (std::vector<Key>{{"Medan", "Kopi A"}, {"Aceh", "Kopi B"}}));
  q.item_contains.reset();
  q.out_of_stock_only = false;
  q.store = "Padang";
  EXPECT_EQ(all_pages(q),
            (std::vector<Key>{{"Padang", "Kopi A"}, {"Padang", "Kopi C"}, {"Padang", "Teh"}}));
  q.order = InventoryOrder::kCount;
  EXPECT_EQ(all_pages(q),
            (std::vector<Key>{{"Padang", "Kopi C"}, {"Padang", "Teh"}, {"Padang", "Kopi A"}}));
  q.store.reset();
  q.item_contains = "KOPI";
  q.order = InventoryOrder::kChanged;
  EXPECT_EQ(all_pages(q), (std::vector<Key>{{"Medan", "Kopi B"}, {"Padang", "Kopi C"},
                                            {"Aceh", "Kopi B"}, {"Medan", "Kopi A"},
                                            {"Padang", "Kopi A"}}));
}

// Connections given one sorted inventory (StorageOptions::sorted_inventory,
// as the console's workers are) page by count and by last change exactly as
// the database sorts, values included, after each report another connection
// loads: a few changed rows (brought up to date row by row) and a large
// report (read again whole), with every filter.
TEST_P(StorageContract, ConnectionsSharingTheSortedInventoryPageAsTheDatabaseSorts) {
  StorageOptions options;
  options.sorted_inventory = std::make_shared<SortedInventory>(10'000, 50);
  auto a = Storage::open(location_, options, clock_);
  auto b = Storage::open(location_, options, clock_);
  // One whose pages leave the whole reads to a keeper (the console's way).
  StorageOptions kept_options;
  kept_options.sorted_inventory = std::make_shared<SortedInventory>(10'000, 50);
  kept_options.sorted_inventory->keep_in_background([] {});
  auto c = Storage::open(location_, kept_options, clock_);
  // Every page of `q` from `s`, three rows at a time.
  const auto all_pages = [](Storage& s, InventoryQuery q) {
    std::vector<InventoryRow> rows;
    q.limit = 3;
    for (int guard = 0; guard < 200; ++guard) {
      auto page = s.list_inventory(q);
      EXPECT_TRUE(page.ok()) << page.error().message();
      if (!page.ok()) break;
      rows.insert(rows.end(), page->begin(), page->end());
      if (page->size() < 3) break;
      const auto& last = page->back();
      q.after = std::pair(last.store, last.item);
      q.after_value = q.order == InventoryOrder::kCount ? last.count : to_unix_ms(last.updated_at);
    }
    return rows;
  };
  const auto same = [&](Storage& kept, int round) {
    for (const auto order : {InventoryOrder::kCount, InventoryOrder::kChanged}) {
      InventoryQuery q;
      q.order = order;
      for (int view = 0; view < 5; ++view) {
        if (view == 1) q.store = "Padang";
        if (view == 2) q.out_of_stock_only = true;
        if (view == 3) q.store.reset();
        if (view == 4) q.item_contains = "KOPI 1";
        const auto want = all_pages(*storage_, q);
        const auto got = all_pages(kept, q);
        ASSERT_EQ(got.size(), want.size()) << "round " << round << " view " << view;
        for (std::size_t i = 0; i < want.size(); ++i) {
          EXPECT_EQ(got[i].store, want[i].store) << "round " << round << " view " << view;
          EXPECT_EQ(got[i].item, want[i].item);
          EXPECT_EQ(got[i].count, want[i].count);
          EXPECT_EQ(got[i].updated_at, want[i].updated_at);
          EXPECT_EQ(got[i].report_id, want[i].report_id);
        }
      }
    }
  };
  std::mt19937 rng(7);
  const std::vector<std::string> stores{"Aceh", "Medan", "Padang", "medan"};
  for (int round = 0; round < 8; ++round) {
    std::vector<Row> rows;
    const int n = round == 4 ? 120 : 2 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      rows.push_back({stores[rng() % stores.size()], "Kopi " + std::to_string(rng() % 40),
                      static_cast<std::int64_t>(rng() % 3)});
    }
    // A report names each pair once.
    std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
      return std::tie(x.store, x.item) < std::tie(y.store, y.item);
    });
    rows.erase(std::unique(rows.begin(), rows.end(),
                           [](const Row& x, const Row& y) {
                             return x.store == y.store && x.item == y.item;
                           }),
               rows.end());
    clock_.advance(std::chrono::minutes(1 + round % 2));
    load(rows, "r" + std::to_string(round) + ".csv", "sha-" + std::to_string(round));
    same(round % 2 ? *a : *b, round);
    same(*c, round);   // before its keeper: from the database, or brought up to date
    ASSERT_TRUE(c->keep_sorted_inventory().ok());
    same(*c, round);
    if (HasFailure()) return;
  }
  EXPECT_GT(options.sorted_inventory->size(), 0u);
  EXPECT_GT(kept_options.sorted_inventory->size(), 0u);
}

TEST_P(StorageContract, StoresAreListedInOrderWithTheirItemCounts) {
  EXPECT_TRUE(storage_->list_stores(10)->empty());
  load({{"Padang", "c", 0}, {"Medan", "a", 0}, {"Medan", "b", 4}, {"medan", "d", 2}}, "a.csv",
       "sha-a");
  auto stores = storage_->list_stores(10);
  ASSERT_TRUE(stores.ok()) << stores.error().message();
  ASSERT_EQ(stores->size(), 3u);
  // Byte order: names differing only in case are two stores.
  EXPECT_EQ((*stores)[0].store, "Medan");
  EXPECT_EQ((*stores)[0].items, 2);
  EXPECT_EQ((*stores)[0].out_of_stock, 1);
  EXPECT_EQ((*stores)[1].store, "Padang");
  EXPECT_EQ((*stores)[1].items, 1);
  EXPECT_EQ((*stores)[1].out_of_stock, 1);
  EXPECT_EQ((*stores)[2].store, "medan");
  EXPECT_EQ((*stores)[2].out_of_stock, 0);
  EXPECT_EQ(storage_->list_stores(1)->size(), 1u);
}

TEST_P(StorageContract, EachScheduledOccurrenceQueuesItsMessagesOnce) {
  EXPECT_FALSE(storage_->schedule_mark("templates")->has_value());
  const TimePoint first = clock_.now();
  auto done = storage_->commit_schedule("templates", first, {message("t1", 0, first)});
  ASSERT_TRUE(done.ok()) << done.error().message();
  EXPECT_TRUE(*done);
  EXPECT_EQ(storage_->schedule_mark("templates")->value(), first);
  EXPECT_FALSE(storage_->schedule_mark("other")->has_value());

  // Again (a restart, a second process): nothing more.
  auto other = connect();
  done = other->commit_schedule("templates", first, {message("t2", 0, first)});
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  done = other->commit_schedule("templates", first - 1h, {message("t3", 0, first)});
  EXPECT_FALSE(*done);
  EXPECT_EQ(storage_->outbox_counts()->queued, 1);

  // The next occurrence; a Message-ID queued before is skipped.
  done = other->commit_schedule("templates", first + 24h, {message("t1", 0, first),
                                                           message("t4", 0, first)});
  EXPECT_TRUE(*done);
  EXPECT_EQ(storage_->schedule_mark("templates")->value(), first + 24h);
  EXPECT_EQ(storage_->outbox_counts()->queued, 2);
}

TEST_P(StorageContract, EachStoresNewestReportCountsEvenWithoutAChange) {
  EXPECT_TRUE(storage_->store_reports(10)->empty());
  const TimePoint t1 = clock_.now();
  const auto a = load({{"Medan", "a", 1}, {"Padang", "b", 2}}, "a.csv", "sha-a");
  clock_.advance(24h);
  // Medan again with the same count: no change record, but a report.
  const auto b = load({{"Medan", "a", 1}}, "b.csv", "sha-b");
  // A rejected report is not a report of the store.
  clock_.advance(24h);
  ASSERT_TRUE(storage_->record_report(record("c.csv", "sha-c", ReportStatus::kRejected)).ok());
  auto stores = storage_->store_reports(10);
  ASSERT_TRUE(stores.ok()) << stores.error().message();
  ASSERT_EQ(stores->size(), 2u);
  EXPECT_EQ((*stores)[0].store, "Medan");
  EXPECT_EQ((*stores)[0].report_id, b);
  EXPECT_EQ((*stores)[0].received_at, t1 + 24h);
  EXPECT_EQ((*stores)[1].store, "Padang");
  EXPECT_EQ((*stores)[1].report_id, a);
  EXPECT_EQ((*stores)[1].received_at, t1);
  EXPECT_EQ(storage_->store_reports(1)->size(), 1u);
}

TEST_P(StorageContract, LargestChangesOfAWindowFirstAndOnlyTheStoresAsked) {
  const TimePoint t0 = clock_.now();
  load({{"Medan", "a", 10}, {"Medan", "b", 5}, {"Padang", "c", 7}}, "a.csv", "sha-a");
  clock_.advance(1h);
  load({{"Medan", "a", 2}, {"Medan", "b", 50}, {"Padang", "c", 0}, {"Medan", "new", 3}},
       "b.csv", "sha-b");
  auto all = storage_->largest_changes(t0, t0 + 2h, {}, 10);
  ASSERT_TRUE(all.ok()) << all.error().message();
  // Only the second report is after t0: b +45, a -8, c -7, new +3.
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].item, "b");
  EXPECT_EQ((*all)[0].old_count, 5);
  EXPECT_EQ((*all)[0].new_count, 50);
  EXPECT_EQ((*all)[1].item, "a");
  EXPECT_EQ((*all)[2].item, "c");
  EXPECT_EQ((*all)[3].item, "new");
  EXPECT_FALSE((*all)[3].old_count.has_value());
  auto medan = storage_->largest_changes(t0, t0 + 2h, {"Medan", "Bandung"}, 2);
  ASSERT_TRUE(medan.ok());
  ASSERT_EQ(medan->size(), 2u);
  EXPECT_EQ((*medan)[0].item, "b");
  EXPECT_EQ((*medan)[1].item, "a");
  // Both reports from before t0.
  auto both = storage_->largest_changes(t0 - 1h, t0 + 2h, {"Padang"}, 10);
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].new_count, 7);  // new at 7, then 7 -> 0: the first in change order
  EXPECT_TRUE(storage_->largest_changes(t0 + 1h, t0 + 2h, {}, 10)->empty());
}

TEST_P(StorageContract, MaintenanceIsHarmlessAtAnyTime) {
  EXPECT_TRUE(storage_->maintain().ok());
  load({{"Medan", "a", 1}}, "a.csv", "sha-a");
  EXPECT_TRUE(storage_->maintain().ok());
  EXPECT_EQ(count("Medan", "a"), 1);
}

// --- Minimum levels and mutes ------------------------------------------------------------

TEST_P(StorageContract, LevelsReplaceTheOnesBeforeWithTheirLoad) {
  EXPECT_EQ(*storage_->levels_version(), 0);
  EXPECT_TRUE(storage_->levels()->empty());
  EXPECT_EQ(*storage_->minimum_of("Medan", "Robusta", 2), 2);  // the default
  const auto rid = load({{"Medan", "Robusta", 3}, {"Medan", "Arabica", 10}}, "medan.csv", "sha-r");

  // A levels file's load: its lines, and a same-count record judged by the
  // new minimum against the old one.
  const std::vector<LevelLine> lines = {
      {"Medan", "Robusta", 5}, {"*", "Arabica", 4}, {"Medan", "*", 2}, {"*", "*", 1}};
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.replace_levels(lines).ok());
  auto now = std::make_shared<const MinimumLevels>(lines, 0);
  txn.set_minimums(now, std::make_shared<const MinimumLevels>());
  ASSERT_TRUE(txn.log_change("Medan", "Robusta", 3, 3).ok());
  auto id = txn.commit(record("levels.csv", "sha-l"));
  ASSERT_TRUE(id.ok()) << id.error().message();

  EXPECT_EQ(*storage_->levels_version(), *id);
  // Its ledger row counts its lines as rows.
  auto entry = storage_->report(*id);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->rows, 4);
  auto read = storage_->levels();
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 4u);
  EXPECT_EQ((*read)[0], (LevelLine{"*", "*", 1}));  // in (store, item) order: '*' sorts first
  EXPECT_EQ(*storage_->minimum_of("Medan", "Robusta"), 5);
  EXPECT_EQ(*storage_->minimum_of("Makassar", "Arabica"), 4);
  EXPECT_EQ(*storage_->minimum_of("Medan", "Gayo"), 2);
  EXPECT_EQ(*storage_->minimum_of("Makassar", "Gayo"), 1);

  // The checker reads the levels file's record like a report's.
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->report_id, rid);
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
  p = storage_->next_pending_changes();
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->report_id, *id);
  ASSERT_EQ((*p)->events.size(), 1u);
  EXPECT_EQ((*p)->events[0].event, EventKind::kLowStock);
  EXPECT_EQ((*p)->events[0].minimum, 5);
  EXPECT_EQ((*p)->events[0].old_count, 3);
  EXPECT_EQ((*p)->events[0].new_count, 3);

  // A second levels file replaces every line.
  begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  txn = std::move(begun).value();
  const std::vector<LevelLine> fewer = {{"Medan", "Robusta", 1}};
  ASSERT_TRUE(txn.replace_levels(fewer).ok());
  ASSERT_TRUE(txn.commit(record("levels2.csv", "sha-l2")).ok());
  EXPECT_EQ(*storage_->levels(), fewer);
}

// A large first load in key order (on PostgreSQL its new stores' rows go
// straight into their tables, a batch of 50,000 at a time), then a load
// that starts the same way but reaches a store the inventory has (from
// there on its rows are merged): every row, change record and event reads
// back as from any other load, numbered in the rows' order, events judged
// by the minimums given.
TEST_P(StorageContract, LargeLoadsOfNewStoresReadBackLikeAnyLoad) {
  struct Given {
    std::string store, item;
    std::int64_t count;
  };
  const auto item = [](int k) {
    char b[16];
    std::snprintf(b, sizeof b, "item-%06d", k);
    return std::string(b);
  };
  // Expected events, from each changed row in order and stock_event().
  struct Expected {
    std::int64_t seq;
    std::string store, item;
    EventKind event;
  };
  std::map<std::pair<std::string, std::string>, std::int64_t> known;  // the counts loaded
  const auto load_and_expect = [&](const std::vector<Given>& rows,
                                   const std::shared_ptr<const MinimumLevels>& levels,
                                   std::int64_t seq_before, const std::string& sha,
                                   std::vector<Expected>& expected) -> std::int64_t {
    auto begun = storage_->begin_report();
    EXPECT_TRUE(begun.ok());
    if (!begun.ok()) return 0;
    ReportLoad txn = std::move(begun).value();
    if (levels) txn.set_minimums(levels);
    std::int64_t seq = seq_before;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const Given& g = rows[k];
      const auto at = known.find({g.store, g.item});
      const auto old =
          at == known.end() ? std::nullopt : std::optional<std::int64_t>(at->second);
      EXPECT_TRUE(txn.upsert(g.store, g.item, g.count, k + 2).ok());
      known[{g.store, g.item}] = g.count;
      if (old == g.count) continue;
      ++seq;
      const std::int64_t minimum = levels ? levels->minimum_of(g.store, g.item) : 0;
      if (auto e = stock_event(old, g.count, minimum, minimum)) {
        expected.push_back({seq, g.store, g.item, *e});
      }
    }
    auto id = txn.commit(record(sha + ".csv", sha));
    EXPECT_TRUE(id.ok()) << id.error().message();
    return id.ok() ? *id : 0;
  };
  const auto events_of = [&](std::int64_t report_id) {
    auto p = storage_->next_pending_changes(1'000'000);
    EXPECT_TRUE(p.ok() && p->has_value());
    std::vector<Expected> got;
    if (!p.ok() || !p->has_value()) return got;
    EXPECT_EQ((*p)->report_id, report_id);
    for (const auto& c : (*p)->events) got.push_back({c.seq, c.store, c.item, *c.event});
    EXPECT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
    return got;
  };
  const auto same = [](const std::vector<Expected>& a, const std::vector<Expected>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const Expected& x, const Expected& y) {
                        return std::tie(x.seq, x.store, x.item, x.event) ==
                               std::tie(y.seq, y.store, y.item, y.event);
                      });
  };

  // 1. Two new stores, 60,002 rows in key order: zeros, and counts below
  // Medan's minimum of 5.
  std::vector<Given> first;
  for (const std::string store : {"Makassar", "Medan"}) {
    for (int k = 0; k <= 30'000; ++k) {
      first.push_back({store, item(k), k % 7 == 0 ? 0 : k % 11 == 0 ? 3 : 10 + k % 50});
    }
  }
  const std::vector<LevelLine> lines = {{"Medan", "*", 5}};
  auto levels = std::make_shared<const MinimumLevels>(lines, 0);
  std::vector<Expected> want1;
  const auto id1 = load_and_expect(first, levels, 0, "sha-first", want1);
  auto entry = storage_->report(id1);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->rows, 60'002);
  EXPECT_EQ((*entry)->changes, 60'002);
  EXPECT_EQ(count("Makassar", item(30'000)), 10 + 30'000 % 50);
  EXPECT_EQ(count("Medan", item(7)), 0);
  ASSERT_GT(want1.size(), 10'000u);
  const auto got1 = events_of(id1);
  EXPECT_EQ(got1.size(), want1.size());
  EXPECT_TRUE(same(got1, want1));
  auto firsts = storage_->report_events(id1, 100);
  ASSERT_TRUE(firsts.ok());
  ASSERT_FALSE(firsts->empty());
  EXPECT_FALSE((*firsts)[0].old_count.has_value());
  EXPECT_EQ((*firsts)[0].minimum.value_or(0), 0);  // Makassar: no minimum
  auto stores1 = storage_->stores_of_report(id1);
  ASSERT_TRUE(stores1.ok());
  EXPECT_EQ(*stores1, (std::vector<std::string>{"Makassar", "Medan"}));

  // 2. A new store's 50,001 rows, then every Medan row: half of them to 0
  // or back from 0, the other half the same.
  std::vector<Given> second;
  for (int k = 0; k <= 50'000; ++k) second.push_back({"Aceh", item(k), k % 7 == 0 ? 0 : 20});
  for (int k = 0; k <= 30'000; ++k) {
    const std::int64_t before = first[30'001 + static_cast<std::size_t>(k)].count;
    second.push_back({"Medan", item(k), k % 2 == 0 ? (before == 0 ? 4 : 0) : before});
  }
  std::vector<Expected> want2;
  const auto id2 = load_and_expect(second, nullptr, 60'002, "sha-second", want2);
  entry = storage_->report(id2);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->rows, 80'002);
  EXPECT_EQ((*entry)->changes, 50'001 + 15'001);
  EXPECT_EQ(count("Aceh", item(50'000)), 20);
  EXPECT_EQ(count("Medan", item(0)), 4);
  EXPECT_EQ(count("Medan", item(2)), 0);
  const auto got2 = events_of(id2);
  EXPECT_EQ(got2.size(), want2.size());
  EXPECT_TRUE(same(got2, want2));
  auto stores2 = storage_->stores_of_report(id2);
  ASSERT_TRUE(stores2.ok());
  EXPECT_EQ(*stores2, (std::vector<std::string>{"Aceh", "Medan"}));
}

// A dated report whose middle store has a newer report already: that
// store's rows are history only and write no change record. The records
// of the stores around it are numbered one after the other, in the rows'
// order, with no gap and no number used twice: small (one batch), and
// large (on PostgreSQL a batch goes in straight, then the rest, a store
// the inventory has, through the merge).
TEST_P(StorageContract, HistoryOnlyRowsLeaveNoGapInTheChangeNumbers) {
  constexpr std::int64_t kDay = 20454;  // 2026-01-01
  const auto load_dated = [&](const std::vector<Row>& rows, std::int64_t day,
                              const std::string& sha) {
    auto begun = storage_->begin_report();
    EXPECT_TRUE(begun.ok());
    if (!begun.ok()) return std::int64_t{0};
    ReportLoad txn = std::move(begun).value();
    txn.set_report_day(day);
    std::uint64_t line = 2;
    for (const auto& r : rows) EXPECT_TRUE(txn.upsert(r.store, r.item, r.count, line++).ok());
    ReportRecord rec = record(sha + ".csv", sha);
    rec.report_day = day;
    rec.date_source = "name";
    auto id = txn.commit(rec);
    EXPECT_TRUE(id.ok()) << id.error().message();
    return id.ok() ? *id : 0;
  };
  const auto item = [](int k) {
    char b[16];
    std::snprintf(b, sizeof b, "item-%06d", k);
    return std::string(b);
  };
  std::int64_t seq = 0;
  for (const int size : {5, 60'000}) {
    SCOPED_TRACE(size);
    const std::string n = std::to_string(size);
    // Bali-N has a report of day 20; Cirebon-N one of day 5.
    std::vector<Row> bali, cirebon;
    for (int k = 0; k < 3; ++k) bali.push_back({"Bali-" + n, item(k), 7});
    for (int k = 0; k < 4; ++k) cirebon.push_back({"Cirebon-" + n, item(k), 7});
    load_dated(bali, kDay + 20, "sha-bali-" + n);
    load_dated(cirebon, kDay + 5, "sha-cirebon-" + n);
    seq += 7;
    auto p = storage_->next_pending_changes(1'000'000);
    while (p.ok() && p->has_value()) {
      ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
      p = storage_->next_pending_changes(1'000'000);
    }
    // Day 10: Aceh-N new, Bali-N history only, Cirebon-N changed.
    std::vector<Row> rows;
    for (int k = 0; k < size; ++k) rows.push_back({"Aceh-" + n, item(k), k % 2 == 0 ? 0 : 1});
    for (int k = 0; k < 3; ++k) rows.push_back({"Bali-" + n, item(k), 0});
    for (int k = 0; k < 4; ++k) rows.push_back({"Cirebon-" + n, item(k), 0});
    const auto id = load_dated(rows, kDay + 10, "sha-day10-" + n);
    auto entry = storage_->report(id);
    ASSERT_TRUE(entry.ok() && entry->has_value());
    EXPECT_EQ((*entry)->changes, size + 4);
    EXPECT_EQ(count("Bali-" + n, item(0)), 7);
    EXPECT_EQ(count("Cirebon-" + n, item(3)), 0);
    p = storage_->next_pending_changes(1'000'000);
    ASSERT_TRUE(p.ok() && p->has_value());
    EXPECT_EQ((*p)->report_id, id);
    EXPECT_EQ((*p)->last_seq, seq + size + 4);
    // Every Aceh row with 0, then every Cirebon row: one event each.
    std::vector<std::pair<std::int64_t, std::string>> want, got;
    for (int k = 0; k < size; k += 2) want.emplace_back(seq + k + 1, "Aceh-" + n + " " + item(k));
    for (int k = 0; k < 4; ++k) {
      want.emplace_back(seq + size + k + 1, "Cirebon-" + n + " " + item(k));
    }
    for (const auto& c : (*p)->events) got.emplace_back(c.seq, c.store + " " + c.item);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want);
    ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
    seq += size + 4;
  }
}

TEST_P(StorageContract, ReportEventsAreJudgedByTheirMinimums) {
  load({{"Medan", "Robusta", 10}, {"Medan", "Arabica", 10}, {"Medan", "Gayo", 0}}, "a.csv",
       "sha-a");
  ASSERT_TRUE(storage_->commit_check(storage_->next_pending_changes().value()->last_seq, 0, {}).ok());
  const std::vector<LevelLine> lines = {{"Medan", "*", 5}};
  auto levels = std::make_shared<const MinimumLevels>(lines, 0);
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  txn.set_minimums(levels);
  ASSERT_TRUE(txn.upsert("Medan", "Robusta", 4).ok());   // 10 -> 4: below 5
  ASSERT_TRUE(txn.upsert("Medan", "Arabica", 5).ok());   // 10 -> 5: equal, not low
  ASSERT_TRUE(txn.upsert("Medan", "Gayo", 6).ok());      // 0 -> 6: back
  ASSERT_TRUE(txn.upsert("Medan", "Toraja", 2).ok());    // new, below
  ASSERT_TRUE(txn.commit(record("b.csv", "sha-b")).ok());
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  std::map<std::string, std::pair<EventKind, std::optional<std::int64_t>>> got;
  for (const auto& c : (*p)->events) got[c.item] = {*c.event, c.minimum};
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got["Robusta"].first, EventKind::kLowStock);
  EXPECT_EQ(got["Robusta"].second, 5);
  EXPECT_EQ(got["Gayo"].first, EventKind::kBackInStock);
  EXPECT_EQ(got["Toraja"].first, EventKind::kLowStock);
  EXPECT_FALSE(got.count("Arabica"));
}

TEST_P(StorageContract, MutesAreSetReplacedListedAndRemoved) {
  EXPECT_TRUE(storage_->mutes()->empty());
  Mute a{"Medan", "Robusta", clock_.now() + 24h, false, clock_.now()};
  Mute b{"Medan", "", std::nullopt, true, clock_.now()};
  Mute c{"Makassar", "Gayo", std::nullopt, true, clock_.now()};
  ASSERT_TRUE(storage_->add_mute(a).ok());
  ASSERT_TRUE(storage_->add_mute(b).ok());
  ASSERT_TRUE(storage_->add_mute(c).ok());
  a.until = clock_.now() + 48h;  // the same store and item: replaced
  ASSERT_TRUE(storage_->add_mute(a).ok());
  auto all = storage_->mutes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].store, "Makassar");
  EXPECT_TRUE((*all)[0].until_change);
  EXPECT_EQ((*all)[1].item, "");
  EXPECT_FALSE((*all)[1].until.has_value());
  EXPECT_EQ((*all)[2].item, "Robusta");
  EXPECT_EQ((*all)[2].until, clock_.now() + 48h);
  EXPECT_FALSE((*all)[2].until_change);
  EXPECT_EQ((*all)[2].created_at, clock_.now());

  EXPECT_EQ(*storage_->remove_mutes("Medan", std::string_view("Robusta")), 1);
  EXPECT_EQ(*storage_->remove_mutes("Medan", std::string_view("Robusta")), 0);
  EXPECT_EQ(*storage_->remove_mutes("Makassar", std::nullopt), 1);
  all = storage_->mutes();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].store, "Medan");
}

TEST_P(StorageContract, EachLoadRecordsItsStoresForTheConsolesOverview) {
  const auto first = test::load_rows(*storage_, clock_,
                                     {{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabika Gayo", 4},
                                      {"Makassar", "Kalosi", 0}, {"Medan", "Lintong", 2}},
                                     "two.csv", "sha-two");
  clock_.advance(std::chrono::minutes(5));
  const auto second = test::load_rows(*storage_, clock_, {{"Makassar", "Kalosi", 3}},
                                      "makassar.csv", "sha-makassar");
  EXPECT_EQ(*storage_->stores_of_report(first), (std::vector<std::string>{"Makassar", "Medan"}));
  EXPECT_EQ(*storage_->stores_of_report(second), std::vector<std::string>{"Makassar"});
  EXPECT_TRUE(storage_->stores_of_report(999)->empty());
  auto summaries = storage_->store_summaries();
  ASSERT_TRUE(summaries.ok()) << summaries.error().message();
  ASSERT_EQ(summaries->size(), 2u);
  EXPECT_EQ((*summaries)[0].store, "Makassar");
  EXPECT_EQ((*summaries)[0].last_report_id, second);
  EXPECT_EQ((*summaries)[0].last_report_at, clock_.now());
  EXPECT_EQ((*summaries)[0].out_of_stock, 0);   // back in stock
  EXPECT_EQ((*summaries)[1].store, "Medan");
  EXPECT_EQ((*summaries)[1].last_report_id, first);
  EXPECT_EQ((*summaries)[1].out_of_stock, 1);
  // A load that is rolled back records nothing.
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ASSERT_TRUE(begun->upsert("Jakarta", "Toraja", 1).ok());
  }
  EXPECT_EQ(storage_->store_summaries()->size(), 2u);
}

TEST_P(StorageContract, TheLedgerKeepsHowEachReportArrived) {
  // A loaded report (the load's commit), a rejected and a duplicate one
  // (record_report), and one that says nothing.
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok()) << begun.error().message();
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 0).ok());
  auto loaded_rec = record("medan/2026-12.csv", "sha-s3");
  loaded_rec.arrived_by = "s3";
  const auto loaded = txn.commit(loaded_rec);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  auto rejected = record("bad.csv", "sha-bad", ReportStatus::kRejected);
  rejected.error = "line 2: no count";
  rejected.arrived_by = "browser";
  const auto rejected_id = storage_->record_report(rejected);
  ASSERT_TRUE(rejected_id.ok()) << rejected_id.error().message();
  auto dup = record("mail/1_medan.csv", "sha-s3", ReportStatus::kDuplicate);
  dup.duplicate_of = *loaded;
  dup.arrived_by = "email";
  const auto dup_id = storage_->record_report(dup);
  ASSERT_TRUE(dup_id.ok());
  const auto plain = load({{"Makassar", "Kalosi", 2}}, "makassar.csv", "sha-plain");

  EXPECT_EQ((*storage_->report(*loaded))->arrived_by, "s3");
  EXPECT_EQ((*storage_->report(*rejected_id))->arrived_by, "browser");
  EXPECT_EQ((*storage_->report(*dup_id))->arrived_by, "email");
  EXPECT_EQ((*storage_->report(plain))->arrived_by, "");
  EXPECT_EQ((*storage_->find_loaded("sha-s3"))->arrived_by, "s3");
  auto page = storage_->reports_page(0, std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ((*page)[1].arrived_by, "email");
  EXPECT_EQ((*page)[2].arrived_by, "browser");

  // The overview says how each store's newest report came.
  auto summaries = storage_->store_summaries();
  ASSERT_TRUE(summaries.ok()) << summaries.error().message();
  ASSERT_EQ(summaries->size(), 2u);
  EXPECT_EQ((*summaries)[0].store, "Makassar");
  EXPECT_EQ((*summaries)[0].last_report_by, "");
  EXPECT_EQ((*summaries)[1].store, "Medan");
  EXPECT_EQ((*summaries)[1].last_report_by, "s3");
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageContract, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace stockwatch

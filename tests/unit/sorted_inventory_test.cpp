// The inventory sorted in memory (store/sorted_inventory.hpp), against a
// plain model: after any mix of new rows and changed counts and times,
// brought up to date row by row or as a whole new copy, every page of every
// order and filter is the one a database sort gives; too many rows keep
// nothing; a failed read leaves the copy as it was; threads that bring it
// up to date read from the database once.
#include "store/sorted_inventory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/ascii.hpp"
#include "base/clock.hpp"
#include "store/storage.hpp"

namespace stockwatch {
namespace {

using Key = std::pair<std::string, std::string>;

struct Value {
  std::int64_t count = 0;
  std::int64_t updated_ms = 0;
  std::int64_t report_id = 0;
};

// A database: the inventory, and a change log naming the pair each change
// record is for (its position is its number).
struct Model {
  std::map<Key, Value> rows;
  std::vector<Key> log;
  int reads_all = 0;
  int reads_since = 0;

  void set(const Key& k, Value v) {
    rows[k] = v;
    log.push_back(k);
  }
  [[nodiscard]] std::int64_t position() const { return static_cast<std::int64_t>(log.size()); }

  SortedInventory::ReadAll all() {
    return [this](const SortedInventory::Sink& sink) -> Status {
      ++reads_all;
      // In an order a database might give when not asked for one.
      std::vector<const std::pair<const Key, Value>*> order;
      for (const auto& r : rows) order.push_back(&r);
      std::reverse(order.begin(), order.end());
      for (const auto* r : order) {
        if (!sink({r->first.first, r->first.second, r->second.count, r->second.updated_ms,
                   r->second.report_id})) {
          break;
        }
      }
      return {};
    };
  }
  SortedInventory::ReadSince since() {
    return [this](std::int64_t from, std::int64_t to, const SortedInventory::Sink& sink) -> Status {
      ++reads_since;
      for (std::int64_t i = from; i < to; ++i) {
        const Key& k = log[static_cast<std::size_t>(i)];
        const Value& v = rows.at(k);
        if (!sink({k.first, k.second, v.count, v.updated_ms, v.report_id})) break;
      }
      return {};
    };
  }

  // `q` as a database answers it.
  [[nodiscard]] std::vector<Key> page(const InventoryQuery& q) const {
    struct R {
      Key key;
      Value v;
    };
    std::vector<R> all;
    for (const auto& [k, v] : rows) {
      if (q.store && k.first != *q.store) continue;
      if (q.out_of_stock_only && v.count != 0) continue;
      if (q.item_contains && !ascii_holds(k.second, ascii_lower(*q.item_contains))) continue;
      all.push_back({k, v});
    }
    const bool by_count = q.order == InventoryOrder::kCount;
    const auto rank = [&](const R& r) {
      return std::make_tuple(by_count ? r.v.count : -r.v.updated_ms, r.key.first, r.key.second);
    };
    std::sort(all.begin(), all.end(), [&](const R& a, const R& b) { return rank(a) < rank(b); });
    std::vector<Key> out;
    for (const R& r : all) {
      if (q.after) {
        const auto probe = std::make_tuple(by_count ? q.after_value : -q.after_value,
                                           q.after->first, q.after->second);
        if (!(probe < rank(r))) continue;
      }
      out.push_back(r.key);
      if (static_cast<int>(out.size()) == q.limit) break;
    }
    return out;
  }
};

std::vector<Key> keys_of(const std::vector<InventoryRow>& rows) {
  std::vector<Key> out;
  for (const auto& r : rows) out.emplace_back(r.store, r.item);
  return out;
}

// Every page of `q`, `q.limit` rows at a time, from the sorted copy and
// from the model, compared page by page (values too).
void expect_same_pages(const SortedInventory& s, const Model& m, InventoryQuery q) {
  for (int guard = 0; guard < 1000; ++guard) {
    const auto got = s.page(q);
    const auto want = m.page(q);
    ASSERT_EQ(keys_of(got), want) << "page " << guard;
    for (const auto& r : got) {
      const Value& v = m.rows.at(Key(r.store, r.item));
      ASSERT_EQ(r.count, v.count);
      ASSERT_EQ(to_unix_ms(r.updated_at), v.updated_ms);
      ASSERT_EQ(r.report_id, v.report_id);
    }
    if (static_cast<int>(got.size()) < q.limit) return;
    q.after = Key(got.back().store, got.back().item);
    q.after_value = q.order == InventoryOrder::kCount ? got.back().count
                                                      : to_unix_ms(got.back().updated_at);
  }
  FAIL() << "pages never ended";
}

void expect_every_view(const SortedInventory& s, const Model& m, std::mt19937& rng) {
  for (const auto order : {InventoryOrder::kCount, InventoryOrder::kChanged}) {
    InventoryQuery q;
    q.order = order;
    q.limit = 1 + static_cast<int>(rng() % 7);
    expect_same_pages(s, m, q);
    q.store = "S" + std::to_string(rng() % 4);
    expect_same_pages(s, m, q);
    q.out_of_stock_only = true;
    expect_same_pages(s, m, q);
    q.store.reset();
    expect_same_pages(s, m, q);
    q.item_contains = "ITEM 1";
    expect_same_pages(s, m, q);
    q.out_of_stock_only = false;
    expect_same_pages(s, m, q);
    q.store = "nowhere";
    EXPECT_TRUE(s.page(q).empty());
  }
}

// Many rounds of new rows and changed ones, brought up to date row by row
// (a large catch_up_max) or as a new copy each time (catch_up_max 0).
void run_rounds(std::int64_t catch_up_max, unsigned seed) {
  std::mt19937 rng(seed);
  Model m;
  SortedInventory s(100'000, catch_up_max);
  std::int64_t now = 1'000'000;
  for (int round = 0; round < 40; ++round) {
    const int writes = round % 5 == 0 ? 60 : 1 + static_cast<int>(rng() % 6);
    now += 1000 * (1 + static_cast<std::int64_t>(rng() % 3));
    for (int w = 0; w < writes; ++w) {
      const Key k("S" + std::to_string(rng() % 4), "item " + std::to_string(rng() % 30));
      // Few counts and a time shared by a report's rows: many ties.
      const auto back = static_cast<std::int64_t>(rng() % 2);
      m.set(k, Value{static_cast<std::int64_t>(rng() % 4), now - 1000 * back, round + 1});
    }
    auto kept = s.bring_up_to(m.position(), m.all(), m.since());
    ASSERT_TRUE(kept.ok());
    ASSERT_TRUE(*kept);
    ASSERT_EQ(s.size(), m.rows.size());
    ASSERT_EQ(s.position(), m.position());
    expect_every_view(s, m, rng);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(SortedInventory, PagesAreTheDatabasesWhenBroughtUpToDateRowByRow) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    run_rounds(1'000'000, seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(SortedInventory, PagesAreTheDatabasesWhenReadAsAWholeEachTime) {
  for (unsigned seed = 1; seed <= 3; ++seed) {
    run_rounds(0, seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(SortedInventory, ReadsOnlyWhatChangedAndNothingWhenCurrent) {
  Model m;
  m.set({"Medan", "Robusta"}, {4, 10, 1});
  m.set({"Medan", "Arabika"}, {0, 10, 1});
  SortedInventory s(10);
  ASSERT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since()));
  ASSERT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since()));
  EXPECT_EQ(m.reads_all, 1);
  EXPECT_EQ(m.reads_since, 0);
  m.set({"Medan", "Robusta"}, {0, 20, 2});
  ASSERT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since()));
  EXPECT_EQ(m.reads_all, 1);
  EXPECT_EQ(m.reads_since, 1);
  InventoryQuery q;
  q.order = InventoryOrder::kChanged;
  EXPECT_EQ(keys_of(s.page(q)), (std::vector<Key>{{"Medan", "Robusta"}, {"Medan", "Arabika"}}));
  q.order = InventoryOrder::kCount;
  q.limit = 0;
  EXPECT_TRUE(s.page(q).empty());
}

TEST(SortedInventory, KeepsNothingPastItsRowsOrWhenTurnedOff) {
  Model m;
  for (int i = 0; i < 5; ++i) m.set({"Medan", "item " + std::to_string(i)}, {1, 10, 1});
  SortedInventory small(4);
  auto kept = small.bring_up_to(m.position(), m.all(), m.since());
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(*kept);
  EXPECT_EQ(small.size(), 0u);
  // It stays so (rows are never removed): nothing is read again.
  EXPECT_FALSE(*small.bring_up_to(m.position() + 1, m.all(), m.since()));
  EXPECT_EQ(m.reads_all, 1);

  SortedInventory grows(5);
  ASSERT_TRUE(*grows.bring_up_to(m.position(), m.all(), m.since()));
  m.set({"Padang", "Teh"}, {0, 20, 2});
  EXPECT_FALSE(*grows.bring_up_to(m.position(), m.all(), m.since()));
  EXPECT_EQ(grows.size(), 0u);

  SortedInventory off(0);
  EXPECT_FALSE(*off.bring_up_to(m.position(), m.all(), m.since()));
  EXPECT_EQ(m.reads_all, 2);
}

TEST(SortedInventory, AFailedReadLeavesTheRowsAsTheyWere) {
  Model m;
  m.set({"Medan", "Robusta"}, {4, 10, 1});
  SortedInventory s(10);
  ASSERT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since()));
  m.set({"Medan", "Robusta"}, {0, 20, 2});
  const SortedInventory::ReadSince broken = [](std::int64_t, std::int64_t,
                                               const SortedInventory::Sink& sink) -> Status {
    sink({"Medan", "Robusta", 0, 20, 2});   // half read, then the connection fails
    return Error(ErrorCode::kTransient, "connection lost");
  };
  auto kept = s.bring_up_to(m.position(), m.all(), broken);
  ASSERT_FALSE(kept.ok());
  EXPECT_EQ(s.position(), 1);
  InventoryQuery q;
  q.order = InventoryOrder::kCount;
  ASSERT_EQ(s.page(q).size(), 1u);
  EXPECT_EQ(s.page(q)[0].count, 4);
  ASSERT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since()));
  EXPECT_EQ(s.page(q)[0].count, 0);
}

// With a keeper, a page never reads the whole copy: it is told to sort in
// the database (and the keeper is asked to read), also while the keeper
// reads; a few changes a page still brings in itself.
TEST(SortedInventory, WithAKeeperAPageNeverReadsTheWholeCopy) {
  using Reader = SortedInventory::Reader;
  Model m;
  for (int i = 0; i < 10; ++i) m.set({"Medan", "item " + std::to_string(i)}, {i % 3, 10, 1});
  SortedInventory s(100, 3);
  int woken = 0;
  s.keep_in_background([&] { ++woken; });
  EXPECT_FALSE(s.wanted());
  EXPECT_FALSE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kPage));
  EXPECT_FALSE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kPage));
  EXPECT_EQ(m.reads_all, 0);
  EXPECT_TRUE(s.wanted());
  EXPECT_EQ(woken, 1);   // once for both
  EXPECT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kKeeper));
  EXPECT_EQ(m.reads_all, 1);
  EXPECT_TRUE(s.wanted());   // kept: the keeper keeps it current
  m.set({"Medan", "item 1"}, {0, 20, 2});
  EXPECT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kPage));
  EXPECT_EQ(m.reads_since, 1);
  for (int i = 0; i < 4; ++i) m.set({"Padang", "item " + std::to_string(i)}, {0, 30, 3});
  EXPECT_FALSE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kPage));   // too far behind
  EXPECT_EQ(m.reads_all, 1);
  EXPECT_EQ(woken, 2);
  InventoryQuery q;
  q.order = InventoryOrder::kCount;
  EXPECT_EQ(s.page(q).size(), 10u);   // the older copy, until the keeper reads
  EXPECT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kKeeper));
  EXPECT_EQ(s.page(q).size(), 14u);

  // A page that comes while the keeper reads a whole copy waits for it.
  for (int i = 0; i < 4; ++i) m.set({"Aceh", "item " + std::to_string(i)}, {0, 40, 4});
  std::atomic<bool> reading{false}, release{false};
  const auto all = m.all();
  const SortedInventory::ReadAll slow = [&](const SortedInventory::Sink& sink) {
    reading = true;
    while (!release) std::this_thread::yield();
    return all(sink);
  };
  std::thread keeper([&] { EXPECT_TRUE(*s.bring_up_to(m.position(), slow, m.since(), Reader::kKeeper)); });
  while (!reading) std::this_thread::yield();
  std::atomic<bool> served{false};
  std::thread page([&] {
    EXPECT_TRUE(*s.bring_up_to(m.position(), m.all(), m.since(), Reader::kPage));
    served = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(served);
  release = true;
  keeper.join();
  page.join();
  EXPECT_EQ(s.page(q).size(), 18u);
  EXPECT_EQ(m.reads_all, 3);   // the keeper's three whole reads; the waiting page read nothing
}

TEST(SortedInventory, ThreadsBringingItUpToDateReadTheDatabaseOnce) {
  Model m;
  for (int i = 0; i < 1000; ++i) m.set({"S" + std::to_string(i % 7), "item " + std::to_string(i)}, {i % 5, i, 1});
  SortedInventory s(10'000);
  std::atomic<int> reads{0};
  const auto all = m.all();
  const SortedInventory::ReadAll counted = [&](const SortedInventory::Sink& sink) {
    ++reads;
    return all(sink);
  };
  std::vector<std::thread> threads;
  std::atomic<int> served{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto kept = s.bring_up_to(m.position(), counted, m.since());
      if (kept.ok() && *kept) {
        InventoryQuery q;
        q.order = InventoryOrder::kCount;
        if (s.page(q).size() == 100) ++served;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(reads.load(), 1);
  EXPECT_EQ(served.load(), 4);
}

}  // namespace
}  // namespace stockwatch

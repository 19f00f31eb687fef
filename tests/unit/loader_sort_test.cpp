// The loader's external sort: rows in key order (store, item), equal keys in
// line order, from memory or from spilled runs; memory bounded by the run
// size given, counted by the sorter (never timed).
#include "pipeline/loader_sort.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::TempDir;

struct Row {
  std::string store, item;
  std::int64_t count;
  std::size_t line;
  bool written;
  bool operator==(const Row&) const = default;
};

// The order the sorter promises: store, item (bytes), then line.
bool key_less(const Row& a, const Row& b) {
  return std::tie(a.store, a.item, a.line) < std::tie(b.store, b.item, b.line);
}

std::vector<Row> drain(RowSorter& sorter) {
  std::vector<Row> out;
  auto st = sorter.drain([&](const SortedRow& r) -> Status {
    out.push_back({std::string(r.store), std::string(r.item), r.count, r.line, r.written});
    return {};
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

// `n` rows over `stores` x `items` keys in a seeded random order; with
// repeats when n exceeds the keys.
std::vector<Row> random_rows(std::size_t n, int stores, int items, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Row> rows;
  for (std::size_t k = 0; k < n; ++k) {
    const int s = static_cast<int>(rng() % stores);
    const int i = static_cast<int>(rng() % items);
    rows.push_back({"Store-" + std::to_string(s), "Item-" + std::to_string(i),
                    static_cast<std::int64_t>(rng() % 10000), k + 2, k % 7 == 0});
  }
  return rows;
}

void add_all(RowSorter& sorter, const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    auto st = sorter.add(r.store, r.item, r.count, r.line, r.written);
    ASSERT_TRUE(st.ok()) << st.message();
  }
}

// `rows` rows of one store, items named `item_prefix` and a number.
struct StoreRows {
  std::string store;
  std::string item_prefix;
  int rows;
};

// The first store's rows, then the second's, sorted through 4 KiB runs
// (more than `min_runs` of them): they come out in key order.
void expect_two_stores_sort(const StoreRows& first, const StoreRows& second,
                            std::size_t min_runs) {
  std::vector<Row> rows;
  for (const StoreRows& part : {first, second}) {
    for (int k = 0; k < part.rows; ++k) {
      rows.push_back({part.store, part.item_prefix + std::to_string(1000 + k), k,
                      rows.size() + 2, false});
    }
  }
  auto expected = rows;
  std::sort(expected.begin(), expected.end(), key_less);
  TempDir dir("sort");
  RowSorter sorter({4096, dir.path()});
  add_all(sorter, rows);
  EXPECT_EQ(drain(sorter), expected);
  EXPECT_GT(sorter.runs_spilled(), min_runs);
}

// The sort compares a prefix of each key first (after what the run's
// stores, and its items, share); names that differ only past the prefix,
// in length, or by bytes the padding could be mistaken for still come out
// in byte order, in memory and from spilled runs.
TEST(RowSorter, NamesAlikeInTheirFirstBytesStillComeOutInByteOrder) {
  const std::vector<std::string> stores = {"W-1", "W-10", "W-1" + std::string(1, '\0'), "W-2",
                                           "W-1234567890", "W-12345678901", "W-"};
  const std::vector<std::string> items = {"P-000", "P-0001", "P-00012345678", "P-00012345679",
                                          "P-", std::string("P-\0", 3), "P-1", "Q"};
  std::vector<Row> rows;
  std::mt19937 rng(11);
  for (int rep = 0; rep < 40; ++rep) {
    for (const auto& st : stores) {
      for (const auto& it : items) {
        rows.push_back({st, it, rep, rows.size() + 2, false});
      }
    }
  }
  std::shuffle(rows.begin(), rows.end(), rng);
  for (std::size_t k = 0; k < rows.size(); ++k) rows[k].line = k + 2;
  auto expected = rows;
  std::sort(expected.begin(), expected.end(), key_less);
  for (const std::size_t run : {std::size_t{1} << 20, std::size_t{4096}}) {
    TempDir dir("sort");
    RowSorter sorter({run, dir.path()});
    add_all(sorter, rows);
    EXPECT_EQ(drain(sorter), expected) << "run " << run;
    // Only one store in a run (the prefix is the items' alone), and short
    // stores without zero bytes (a prefix of store and item).
    for (const auto keep : {+[](const std::string& s) { return s == "W-1"; },
                            +[](const std::string& s) {
                              return s.size() <= 4 && s.find('\0') == std::string::npos;
                            }}) {
      RowSorter some({run, dir.path()});
      std::vector<Row> kept;
      for (const Row& r : rows) {
        if (keep(r.store)) kept.push_back(r);
      }
      add_all(some, kept);
      auto want = kept;
      std::sort(want.begin(), want.end(), key_less);
      EXPECT_EQ(drain(some), want) << "run " << run;
    }
  }
}

// The merge compares a prefix made from what the rows of every run share:
// runs that each hold one store (long names alike in their first bytes,
// one a prefix of another) and items alike in theirs still merge into byte
// order.
TEST(RowSorter, RunsOfOneStoreEachMergeIntoByteOrder) {
  // The last runs share more than all runs do: a longer store, items
  // 500-599 only.
  const std::vector<std::string> stores = {"Gudang-Medan", "Gudang-Makassar", "Gudang-M",
                                           "Gudang-Medan-Selatan", "Gudang-Medan-Utara"};
  std::mt19937 rng(5);
  std::vector<Row> rows;
  for (const auto& st : stores) {
    for (int k = 0; k < 600; ++k) {
      const int i = st == stores.back() ? 500 + static_cast<int>(rng() % 100)
                                        : static_cast<int>(rng() % 900);
      rows.push_back({st, "Kopi-Arabika-" + std::to_string(i), k, rows.size() + 2, false});
    }
  }
  auto expected = rows;
  std::sort(expected.begin(), expected.end(), key_less);
  TempDir dir("sort");
  RowSorter sorter({8 * 1024, dir.path()});
  add_all(sorter, rows);
  EXPECT_EQ(drain(sorter), expected);
  EXPECT_GT(sorter.runs_spilled(), stores.size());
}

// A zero byte that only the later runs' stores share (not the first run's)
// still keeps the merge from reading past a store's end into its item:
// "X" < "X\0" whatever their items.
TEST(RowSorter, AZeroByteOnlyLaterRunsShareKeepsStoresApart) {
  expect_two_stores_sort({"X", "Z", 65}, {std::string("X\0", 2), "A", 200}, 2);
}

// The merge's prefix allows for the longest store of every run, not only
// of the last: an earlier run's longer store past what all stores share
// still keeps stores apart ("AB" < "ABCDEFGHIJ" whatever their items).
TEST(RowSorter, ALongerStoreOfAnEarlierRunKeepsStoresApart) {
  expect_two_stores_sort({"ABCDEFGHIJ", "A", 200}, {"AB", "Z", 400}, 4);
}

TEST(RowSorter, RowsThatFitInOneRunComeOutInKeyOrderWithoutATemporaryFile) {
  TempDir dir("sort");
  RowSorter sorter({1 << 20, dir.path()});
  const std::vector<Row> rows = {
      {"Medan", "Robusta", 0, 2, false},   {"Makassar", "Toraja", 3, 3, true},
      {"Medan", "Gayo", 12, 4, false},     {"Makassar", "Toraja", 4, 5, false},
      {"Medan", "Gayo, Aceh", 1, 6, false}, {"Makassar", "Toraj", 9, 7, false},
  };
  add_all(sorter, rows);
  EXPECT_EQ(sorter.rows(), rows.size());
  auto expected = rows;
  std::sort(expected.begin(), expected.end(), key_less);
  EXPECT_EQ(drain(sorter), expected);
  EXPECT_EQ(sorter.runs_spilled(), 0u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(RowSorter, ManyRunsAreSpilledAndMergedIntoKeyOrder) {
  TempDir dir("sort");
  RowSorter sorter({8 * 1024, dir.path()});
  const auto rows = random_rows(20'000, 13, 5'000, 1);
  add_all(sorter, rows);
  auto expected = rows;
  std::sort(expected.begin(), expected.end(), key_less);
  EXPECT_EQ(drain(sorter), expected);
  EXPECT_GT(sorter.runs_spilled(), 50u);
  // The spill file has no name: nothing is left in the folder.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(RowSorter, RowsAlreadyInOrderAndInReverseOrderSortToo) {
  for (const bool reverse : {false, true}) {
    TempDir dir("sort");
    RowSorter sorter({4 * 1024, dir.path()});
    std::vector<Row> rows;
    for (int k = 0; k < 3000; ++k) {
      rows.push_back({"S", "Item-" + std::to_string(100000 + k), k, std::size_t(k) + 2, false});
    }
    if (reverse) std::reverse(rows.begin(), rows.end());
    add_all(sorter, rows);
    auto expected = rows;
    std::sort(expected.begin(), expected.end(), key_less);
    EXPECT_EQ(drain(sorter), expected) << "reverse " << reverse;
    EXPECT_GT(sorter.runs_spilled(), 1u);
  }
}

TEST(RowSorter, RepeatedKeysInDifferentRunsMeetAsNeighboursInLineOrder) {
  TempDir dir("sort");
  RowSorter sorter({4 * 1024, dir.path()});
  // The same key early, in the middle and last; filler rows in between
  // fill several runs.
  std::vector<Row> rows;
  std::size_t line = 2;
  rows.push_back({"Medan", "Robusta", 1, line++, true});
  for (int k = 0; k < 500; ++k) rows.push_back({"A", "filler-" + std::to_string(k), k, line++, false});
  rows.push_back({"Medan", "Robusta", 2, line++, false});
  for (int k = 0; k < 500; ++k) rows.push_back({"Z", "filler-" + std::to_string(k), k, line++, false});
  rows.push_back({"Medan", "Robusta", 3, line++, false});
  add_all(sorter, rows);
  const auto out = drain(sorter);
  ASSERT_GT(sorter.runs_spilled(), 2u);
  const auto first = std::find_if(out.begin(), out.end(),
                                  [](const Row& r) { return r.store == "Medan"; });
  ASSERT_NE(first, out.end());
  ASSERT_GE(std::distance(first, out.end()), 4);
  EXPECT_NE(first[3].store, "Medan");
  EXPECT_EQ(first[0], rows.front());
  EXPECT_EQ(first[1], rows[501]);
  EXPECT_EQ(first[2], rows.back());
}

TEST(RowSorter, MemoryIsBoundedByTheRunSizeNotByTheRows) {
  // Counted by the sorter itself: the run buffer, the spill buffer (at most
  // a run) and, while merging, one read buffer a run.
  constexpr std::size_t kRun = 256 * 1024;
  std::size_t runs_small = 0;
  for (const std::size_t n : {std::size_t{20'000}, std::size_t{80'000}}) {
    TempDir dir("sort");
    RowSorter sorter({kRun, dir.path()});
    add_all(sorter, random_rows(n, 10, 1'000'000, 7));
    std::size_t drained = 0;
    ASSERT_TRUE(sorter.drain([&](const SortedRow&) -> Status {
      ++drained;
      return {};
    }).ok());
    EXPECT_EQ(drained, n);
    EXPECT_GT(sorter.runs_spilled(), runs_small);
    runs_small = sorter.runs_spilled();
    EXPECT_LE(sorter.memory_high_water(),
              std::max(2 * kRun, sorter.runs_spilled() * RowSorter::kMinReadBuffer))
        << n << " rows";
    EXPECT_LE(sorter.memory_high_water(), 2 * kRun) << n << " rows";
  }
}

// A by-line sort fed in line order (the loader's copy of a first load's
// rows) reads its runs back one after another: its memory stays about two
// runs however many runs there are, where a merge holds a read buffer for
// each. Rows added out of line order still come out in line order.
TEST(RowSorter, RowsAddedInLineOrderAreReadBackRunAfterRunInBoundedMemory) {
  constexpr std::size_t kRun = 4 * 1024;
  auto rows = random_rows(20'000, 10, 1'000, 9);   // lines 2, 3, ... as added
  for (const bool shuffled : {false, true}) {
    auto added = rows;
    if (shuffled) std::shuffle(added.begin(), added.end(), std::mt19937(4));
    TempDir dir("sort");
    RowSorter sorter({kRun, dir.path(), true});
    add_all(sorter, added);
    const auto out = drain(sorter);
    EXPECT_EQ(out, rows) << (shuffled ? "shuffled" : "in order");
    EXPECT_GT(sorter.runs_spilled(), 100u);
    if (shuffled) {
      EXPECT_GE(sorter.memory_high_water(), sorter.runs_spilled() * RowSorter::kMinReadBuffer);
    } else {
      EXPECT_LE(sorter.memory_high_water(), std::max(2 * kRun, RowSorter::kMinReadBuffer));
    }
  }
}

// Spilled rows are stored against the row before them (the names' shared
// beginnings once, the line as a difference): every field comes back
// exactly, at its extremes too: counts and the carried value at both ends
// of their range, lines far apart and going back, a row marked written
// between two that are not, an empty name, names longer than a run, and
// names that share all, part or none of the row before's.
TEST(RowSorter, SpilledRowsComeBackWithEveryFieldAsAdded) {
  struct Full {
    std::string store, item;
    std::int64_t count, extra;
    std::size_t line;
    bool written;
    bool operator==(const Full&) const = default;
  };
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const std::vector<std::int64_t> values = {0, 1, -1, 127, 128, -129, 1'000'000, kMin, kMax};
  std::mt19937 rng(11);
  std::vector<Full> rows;
  for (std::size_t k = 0; k < 3'000; ++k) {
    std::string store = "Warehouse-" + std::to_string(rng() % 5);
    std::string item = "Product-" + std::to_string(rng() % 400);
    if (k % 97 == 0) item.clear();
    if (k % 211 == 0) store.append(5'000, static_cast<char>('a' + k % 26));
    if (k % 13 == 0) item = store;  // shares everything with a store
    const std::size_t line = k % 5 == 0 ? (std::size_t{1} << 62) - k : k * 1'000 + 2;
    rows.push_back({store, item, values[rng() % values.size()], values[rng() % values.size()],
                    line, rng() % 3 == 0});
  }
  for (const bool by_line : {false, true}) {
    for (const bool in_line_order : {false, true}) {
      auto added = rows;
      const auto line_less = [](const Full& a, const Full& b) { return a.line < b.line; };
      if (in_line_order) std::sort(added.begin(), added.end(), line_less);
      auto expected = added;
      std::stable_sort(expected.begin(), expected.end(), [&](const Full& a, const Full& b) {
        if (by_line) return a.line < b.line;
        return std::tie(a.store, a.item, a.line) < std::tie(b.store, b.item, b.line);
      });
      TempDir dir("sort");
      RowSorter sorter({4 * 1024, dir.path(), by_line});
      for (const Full& r : added) {
        ASSERT_TRUE(sorter.add(r.store, r.item, r.count, r.line, r.written, r.extra).ok());
      }
      std::vector<Full> out;
      auto st = sorter.drain([&](const SortedRow& r) -> Status {
        out.push_back({std::string(r.store), std::string(r.item), r.count, r.extra, r.line,
                       r.written});
        return {};
      });
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_GT(sorter.runs_spilled(), 10u);
      EXPECT_TRUE(out == expected) << "by line " << by_line << ", in line order "
                                   << in_line_order;
    }
  }
}

TEST(RowSorter, TheTakersFailureStopsTheDrain) {
  TempDir dir("sort");
  RowSorter sorter({4 * 1024, dir.path()});
  add_all(sorter, random_rows(2'000, 3, 100, 3));
  int taken = 0;
  auto st = sorter.drain([&](const SortedRow&) -> Status {
    if (++taken == 10) return Error(ErrorCode::kCancelled, "stop");
    return {};
  });
  EXPECT_EQ(st.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(taken, 10);
}

TEST(RowSorter, AFolderThatCannotHoldTheRunsIsAnError) {
  RowSorter sorter({4 * 1024, "/nonexistent/stockwatch-sort"});
  Status failed;
  for (const Row& r : random_rows(2'000, 3, 100, 3)) {
    failed = sorter.add(r.store, r.item, r.count, r.line, r.written);
    if (!failed.ok()) break;
  }
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("/nonexistent/stockwatch-sort"), std::string::npos)
      << failed.message();
}

}  // namespace
}  // namespace stockwatch

// The loader's external sort: a report's rows in key order (store, then
// item, by bytes, as the inventory's primary key orders them), in bounded
// memory, whatever order the file has them in.
//
// Contract:
// - add() copies each row into an in-memory run: one buffer of
//   RowSortOptions::run_bytes, names from its front, per-row bookkeeping
//   from its back, and room between them for one 16-byte sort key a row (an
//   order-preserving prefix of the key and the row's index: the sort moves
//   these, not the rows). When the two meet, the run is sorted and appended to one
//   unnamed temporary file in `temp_dir` (removed by the system when
//   closed, so a crash leaves nothing behind), each row stored against the
//   row before it (the names' shared beginnings once).
// - drain() hands every row to `take` once, in key order, rows with the
//   same key in line order (or in line order alone, with `by_line`): from
//   memory when nothing was spilled, else by a k-way merge of the spilled
//   runs, each read through a buffer of its share of run_bytes (at least
//   kMinReadBuffer). Memory is therefore about run_bytes while adding and
//   at most max(run_bytes, runs x kMinReadBuffer) while draining. A
//   `by_line` sort whose rows were all added in line order (the loader's
//   copy of a first load's rows) needs no merge: its runs are read back one
//   after another through one buffer of run_bytes, however many there are.
//   memory_high_water() tells the most the sorter held, counted, not timed.
// - Rows handed out point into the sorter's buffers: valid only during the
//   call to `take`. drain() may be called once; add() not after it.
// - Failures (temporary file, disk full) are Status values; `take`'s own
//   failure stops the drain and is returned as is.
// - Not thread-safe: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

struct RowSortOptions {
  // Bytes of one in-memory run (names and bookkeeping).
  std::size_t run_bytes = 8 * 1024 * 1024;
  // Where runs are spilled; empty: $TMPDIR, else /tmp.
  std::filesystem::path temp_dir;
  // Order by line alone (store and item only carried along), for rows that
  // must go back to the report's order.
  bool by_line = false;
};

struct SortedRow {
  std::string_view store;
  std::string_view item;
  std::int64_t count = 0;
  std::int64_t extra = 0;  // carried along, as given to add()
  std::size_t line = 0;
  // A row already written before sorting began: it takes part in the
  // duplicate check only.
  bool written = false;
};

class RowSorter {
 public:
  static constexpr std::size_t kMinReadBuffer = 16 * 1024;

  explicit RowSorter(RowSortOptions options);
  RowSorter(const RowSorter&) = delete;
  RowSorter& operator=(const RowSorter&) = delete;

  [[nodiscard]] Status add(std::string_view store, std::string_view item, std::int64_t count,
                           std::size_t line, bool written = false, std::int64_t extra = 0);
  [[nodiscard]] Status drain(const std::function<Status(const SortedRow&)>& take);

  [[nodiscard]] std::size_t rows() const { return rows_; }
  [[nodiscard]] std::size_t runs_spilled() const { return runs_.size(); }
  [[nodiscard]] std::size_t memory_high_water() const { return high_water_; }

 private:
  struct Entry {
    std::uint32_t off;        // into names_: store, then item
    std::uint32_t store_len;
    std::uint32_t item_len;
    std::int64_t count;
    std::int64_t extra;
    std::uint64_t line;       // high bit: written
  };
  // What sort_run() sorts instead of the entries: an order-preserving
  // prefix of the row's key (or its line) and the entry's index. Room for
  // one is kept free in the arena, between the names and the entries.
  struct SortKey {
    std::uint64_t prefix;
    std::uint64_t index;
  };
  static constexpr std::size_t kRowBookkeeping = sizeof(Entry) + sizeof(SortKey);
  struct Run {
    std::uint64_t offset;     // in the temporary file
    std::uint64_t bytes;
  };
  [[nodiscard]] Entry* entries_begin() const {
    return reinterpret_cast<Entry*>(arena_.get() + arena_bytes_) - entries_;
  }
  [[nodiscard]] std::string_view name(const Entry& e, std::size_t off, std::size_t len) const {
    return {arena_.get() + e.off + off, len};
  }
  // Sorts the run; returns its keys in order (in the arena, valid until the
  // next add()).
  const SortKey* sort_run();
  [[nodiscard]] Status spill();
  [[nodiscard]] Status open_temp();
  [[nodiscard]] Status merge(const std::function<Status(const SortedRow&)>& take);
  // drain()'s way for spilled runs that follow one another (in_order_).
  [[nodiscard]] Status concatenate(const std::function<Status(const SortedRow&)>& take);

  RowSortOptions options_;
  std::unique_ptr<char[]> arena_;   // the run: names up from 0, entries down from the end
  std::size_t arena_bytes_ = 0;
  std::size_t names_ = 0;           // bytes of names in the arena
  std::size_t entries_ = 0;         // entries at the arena's end
  std::vector<Run> runs_;
  UniqueFd file_;
  std::uint64_t file_bytes_ = 0;
  std::size_t rows_ = 0;
  std::size_t high_water_ = 0;
  bool drained_ = false;
  // A by_line sort whose every row came after the one before: each run
  // then follows the last. Never for a sort by key.
  bool in_order_;
  std::size_t last_line_ = 0;
  // What every sorted run's rows share (for the merge's 64-bit key
  // prefix), noted by sort_run(): the first run's first store and item, how
  // many of their first bytes every store, and every item, has the same,
  // the longest store, and whether a store holds a zero byte (then only
  // store bytes make the prefix).
  bool shared_known_ = false;
  std::string first_store_, first_item_;
  std::size_t store_lcp_ = 0, item_lcp_ = 0, longest_store_ = 0;
  bool store_zero_ = false;
};

}  // namespace stockwatch

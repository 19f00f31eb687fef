// The inventory held in memory in the two orders no index of the database
// serves: by count (lowest first) and by the last change (newest first),
// each then by store and item. The console's pages sorted so over every
// store are read from here instead of sorting every row of the database
// for each page (Storage::list_inventory with InventoryOrder::kCount or
// kChanged, when StorageOptions::sorted_inventory is set).
//
// Nothing is written for it: a load pays nothing. The rows are read once
// from the inventory (at the change feed position read before it), then,
// like the item names (store/item_names.hpp), brought up to each newer
// position by reading the current rows of the store/item pairs that the
// change records since then name: the inventory changes only with a change
// record, and a row is never removed. Reading a row again is harmless, so a
// row read a little ahead of its position is simply read once more.
//
// Memory: each row takes an entry of 32 bytes and three 4-byte places (key,
// count, last change order); each distinct store and item name is kept
// once. One million rows of 10,000 names took 66 MB (measured). Past
// `max_rows` rows nothing is kept (the pages then sort in the database).
//
// Bringing the rows up to a position costs what it reads plus, for a few
// changed rows, one pass over the places (a few milliseconds at a million
// rows); more than `catch_up_max` change records are read as a whole new
// copy instead. With a keeper (keep_in_background()), a page never reads
// the whole copy itself: it is told to sort in the database instead and
// the keeper is woken, which reads it (bring_up_to() as Reader::kKeeper)
// beside the copy other pages go on reading; a page that comes while it
// reads waits for it.
//
// ONE copy serves every connection given it (the console's workers share
// one). Contract: thread-safe. bring_up_to() reads from one caller's
// database at a time (the others wait for it, then find the rows current);
// page() holds a shared lock only. Errors of the reading functions are
// returned as they are and leave the rows as they were.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"

namespace stockwatch {

struct InventoryQuery;
struct InventoryRow;

class SortedInventory {
 public:
  // One inventory row as a backend reads it.
  struct Row {
    std::string_view store;
    std::string_view item;
    std::int64_t count = 0;
    std::int64_t updated_ms = 0;   // InventoryRow::updated_at in Unix milliseconds
    std::int64_t report_id = 0;
  };
  // Takes one row; false stops the reading (more rows than are kept).
  using Sink = std::function<bool(const Row&)>;
  // Every row of the inventory, each once, in any order.
  using ReadAll = std::function<Status(const Sink&)>;
  // The current rows of the store/item pairs the change records after
  // `from`, up to and with `to`, name (a pair may come more than once).
  using ReadSince = std::function<Status(std::int64_t from, std::int64_t to, const Sink&)>;

  explicit SortedInventory(std::size_t max_rows, std::int64_t catch_up_max = 100'000);

  enum class Reader {
    kPage,     // a page about to be served
    kKeeper,   // the keeper (keep_in_background())
  };

  // From now on a keeper reads the whole copy, never a page: `wake` (called
  // from a page's thread, with no lock of this held) is to make it call
  // bring_up_to() as Reader::kKeeper soon. Call before any page is served.
  void keep_in_background(std::function<void()> wake);
  // Whether the keeper should bring the rows up to date: a page found them
  // missing or too far behind, or they are kept already.
  [[nodiscard]] bool wanted() const;

  // Brings the rows up to the change feed position `position` (which the
  // caller read from its database just now). True when they are there and
  // page() may serve; false when nothing is kept (max_rows is 0, or the
  // inventory had more rows than that: it stays so, since rows are never
  // removed), and, with a keeper, when a page would have to read the whole
  // copy or wait for the keeper reading it.
  [[nodiscard]] Result<bool> bring_up_to(std::int64_t position, const ReadAll& all,
                                         const ReadSince& since, Reader reader = Reader::kPage);

  // The page `q` asks for (q.order kCount or kChanged; the filters store,
  // out_of_stock_only and item_contains; after/after_value; limit), as
  // Storage::list_inventory returns it.
  [[nodiscard]] std::vector<InventoryRow> page(const InventoryQuery& q) const;

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::int64_t position() const;
  // Whether rows are kept (read once, and not over max_rows).
  [[nodiscard]] bool filled() const;

 private:
  struct Entry {
    std::uint32_t store = 0;   // State::stores
    std::uint32_t item = 0;    // State::items
    std::int64_t count = 0;
    std::int64_t updated_ms = 0;
    std::int64_t report_id = 0;
  };
  // Each distinct name once, numbered in the order first seen.
  struct Names {
    // Looked up by a string_view: a name already held costs no copy.
    struct Hash {
      using is_transparent = void;
      std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::vector<const std::string*> by_id;   // the keys of `ids`
    std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> ids;
    std::uint32_t intern(std::string_view name);
    [[nodiscard]] const std::string& operator[](std::uint32_t id) const { return *by_id[id]; }
  };
  // The rows and their three orders, each a list of places in `entries`.
  struct State {
    Names stores, items;
    std::vector<Entry> entries;
    std::vector<std::uint32_t> by_key;       // by (store, item)
    std::vector<std::uint32_t> by_count;     // by (count, store, item)
    std::vector<std::uint32_t> by_changed;   // by (updated_ms descending, store, item)
    [[nodiscard]] bool key_less(std::uint32_t a, std::uint32_t b) const;
    [[nodiscard]] bool count_less(std::uint32_t a, std::uint32_t b) const;
    [[nodiscard]] bool changed_less(std::uint32_t a, std::uint32_t b) const;
    void add(const Row& r);
    // The three orders of every entry, after add() of each row.
    void sort_all();
    // `rows`, each a row new here or a newer state of one held, each pair
    // once, in key order.
    void apply(const std::vector<Row>& rows);
  };

  const std::size_t max_rows_;
  const std::int64_t catch_up_max_;
  mutable std::shared_mutex mu_;   // state_, position_, filled_, too_large_
  std::mutex reading_;             // one bring_up_to() reads from a database at a time
  State state_;
  std::int64_t position_ = 0;
  bool filled_ = false;
  bool too_large_ = false;
  std::function<void()> wake_;              // keep_in_background(); empty: no keeper
  std::atomic<bool> wanted_{false};         // a page asked for a whole read
};

}  // namespace stockwatch

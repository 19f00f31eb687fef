// The distinct item names of the inventory, held in memory for the search by
// item name and the listing by item (Storage::list_inventory): the names
// that hold some words are found in this short list (one entry per name, not
// per store and item), and their rows through the inventory's key, instead
// of reading every inventory row.
//
// Nothing is written for it: a load pays nothing. The list is filled once
// from the inventory (at the change feed position read before the
// inventory), then given the names of the rows that change records newer
// than `position()` inserted. A name stays when its rows are gone (a search
// then finds no row for it).
//
// ONE list serves every connection of a process that is given it
// (StorageOptions::item_names; the console's workers share one): 2.7 million
// names take about 300 MB, once, however many connections read them.
//
// Contract: thread-safe. bring_up_to() lets one caller at a time read from
// its database (the others wait for it, then find the list current and read
// nothing); readers (holding, from, size) are never held up by that reading,
// only by the short in-memory merge of what it read. Errors of the reading
// functions are returned as they are and leave the list as it was.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace stockwatch {

class ItemNames {
 public:
  using Names = std::vector<std::string>;
  // Every name of the inventory.
  using ReadAll = std::function<Result<Names>()>;
  // The names of the rows new in the change records after `from`, up to
  // and with `to`.
  using ReadSince = std::function<Result<Names>(std::int64_t from, std::int64_t to)>;

  // Brings the list up to the change feed position `position` (which the
  // caller read from its database just now): the first time with `all`,
  // later with `since` from position(). Nothing is read when the list is
  // already there.
  [[nodiscard]] Status bring_up_to(std::int64_t position, const ReadAll& all, const ReadSince& since);

  [[nodiscard]] bool filled() const;
  // The change feed position the names are complete up to.
  [[nodiscard]] std::int64_t position() const;
  // Every name, from the inventory, complete up to the change `position`.
  void reset(Names names, std::int64_t position);
  // The names of the rows new in the change records after position(), up
  // to `position`; a `position` not past position() adds nothing (another
  // caller brought the list there already).
  void add(Names names, std::int64_t position);
  // The names that hold `words`, ASCII letters compared without case (as
  // InventoryQuery::item_contains), in byte order.
  [[nodiscard]] Names holding(std::string_view words) const;
  // Up to `n` names from `first` on (`first` included), in byte order: a
  // walk over every name a piece at a time, without holding the list.
  [[nodiscard]] Names from(std::string_view first, std::size_t n) const;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;   // names_, position_, filled_
  std::mutex reading_;             // one bring_up_to() reads from a database at a time
  Names names_;                    // sorted, each once
  std::int64_t position_ = 0;
  bool filled_ = false;
};

}  // namespace stockwatch

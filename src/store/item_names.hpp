// The distinct item names of the inventory, held in memory by a storage
// connection for the search by item name and the listing by item
// (Storage::list_inventory): the names that hold some words are found in
// this short list (one entry per name, not per store and item), and their
// rows through the inventory's key, instead of reading every inventory row.
//
// Nothing is written for it: a load pays nothing. A backend fills it once
// from the inventory (`reset`, at the change feed position it read before
// the inventory), then adds the names of the rows that change records newer
// than `position()` inserted (`add`). A name stays when its rows are gone
// (a search then finds no row for it).
//
// Contract: a plain value; not thread-safe (one connection's).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch {

class ItemNames {
 public:
  [[nodiscard]] bool filled() const { return filled_; }
  // The change feed position the names are complete up to.
  [[nodiscard]] std::int64_t position() const { return position_; }
  // Every name, from the inventory, complete up to the change `position`.
  void reset(std::vector<std::string> names, std::int64_t position);
  // The names of the rows new in the change records after position(), up
  // to `position`.
  void add(std::vector<std::string> names, std::int64_t position);
  // The names that hold `words`, ASCII letters compared without case (as
  // InventoryQuery::item_contains), in byte order.
  [[nodiscard]] std::vector<std::string> holding(std::string_view words) const;
  // Every name, in byte order.
  [[nodiscard]] const std::vector<std::string>& all() const { return names_; }

 private:
  std::vector<std::string> names_;   // sorted, each once
  std::int64_t position_ = 0;
  bool filled_ = false;
};

}  // namespace stockwatch

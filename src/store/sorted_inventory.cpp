#include "store/sorted_inventory.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <tuple>
#include <utility>

#include "base/ascii.hpp"
#include "base/clock.hpp"
#include "store/storage.hpp"

namespace stockwatch {

namespace {

// `v` with the places `add` (sorted by `less`, none of them in `v`) put
// where they belong: one binary search per added place and one copy of `v`.
template <typename Less>
void insert_sorted(std::vector<std::uint32_t>& v, const std::vector<std::uint32_t>& add,
                   Less less) {
  if (add.empty()) return;
  std::vector<std::uint32_t> out;
  out.reserve(v.size() + add.size());
  auto from = v.begin();
  for (const std::uint32_t a : add) {
    const auto at = std::upper_bound(from, v.end(), a, less);
    out.insert(out.end(), from, at);
    out.push_back(a);
    from = at;
  }
  out.insert(out.end(), from, v.end());
  v.swap(out);
}

// `v` without the elements at `places` (sorted, each once).
void erase_places(std::vector<std::uint32_t>& v, const std::vector<std::size_t>& places) {
  if (places.empty()) return;
  std::size_t to = places.front();
  std::size_t next = 0;
  for (std::size_t from = places.front(); from < v.size(); ++from) {
    if (next < places.size() && places[next] == from) {
      ++next;
      continue;
    }
    v[to++] = v[from];
  }
  v.resize(to);
}

}  // namespace

std::uint32_t SortedInventory::Names::intern(std::string_view name) {
  if (const auto it = ids.find(name); it != ids.end()) return it->second;
  const auto it = ids.emplace(std::string(name), static_cast<std::uint32_t>(by_id.size())).first;
  by_id.push_back(&it->first);
  return it->second;
}

bool SortedInventory::State::key_less(std::uint32_t a, std::uint32_t b) const {
  const Entry& x = entries[a];
  const Entry& y = entries[b];
  if (x.store != y.store) return stores[x.store] < stores[y.store];
  return x.item != y.item && items[x.item] < items[y.item];
}

bool SortedInventory::State::count_less(std::uint32_t a, std::uint32_t b) const {
  const Entry& x = entries[a];
  const Entry& y = entries[b];
  if (x.count != y.count) return x.count < y.count;
  return key_less(a, b);
}

bool SortedInventory::State::changed_less(std::uint32_t a, std::uint32_t b) const {
  const Entry& x = entries[a];
  const Entry& y = entries[b];
  if (x.updated_ms != y.updated_ms) return x.updated_ms > y.updated_ms;
  return key_less(a, b);
}

void SortedInventory::State::add(const Row& r) {
  entries.push_back(Entry{stores.intern(r.store), items.intern(r.item), r.count, r.updated_ms,
                          r.report_id});
}

void SortedInventory::State::sort_all() {
  by_key.resize(entries.size());
  std::iota(by_key.begin(), by_key.end(), 0u);
  const auto key = [this](std::uint32_t a, std::uint32_t b) { return key_less(a, b); };
  // A database reads its rows in key order: then there is nothing to sort.
  if (!std::is_sorted(by_key.begin(), by_key.end(), key)) std::sort(by_key.begin(), by_key.end(), key);
  // Sorted by (count, place in key order), or (time, place), each a pair
  // of numbers side by side: no name compared, no entry looked up.
  const auto order_by = [this](std::vector<std::uint32_t>& out, auto value) {
    std::vector<std::pair<std::int64_t, std::uint32_t>> pairs(by_key.size());
    for (std::uint32_t k = 0; k < by_key.size(); ++k) pairs[k] = {value(entries[by_key[k]]), k};
    std::sort(pairs.begin(), pairs.end());
    out.resize(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) out[i] = by_key[pairs[i].second];
  };
  order_by(by_count, [](const Entry& e) { return e.count; });
  order_by(by_changed, [](const Entry& e) { return -e.updated_ms; });   // newest first
}

void SortedInventory::State::apply(const std::vector<Row>& rows) {
  const auto key = [this](std::uint32_t a, std::uint32_t b) { return key_less(a, b); };
  const auto by_count_less = [this](std::uint32_t a, std::uint32_t b) { return count_less(a, b); };
  const auto by_changed_less = [this](std::uint32_t a, std::uint32_t b) {
    return changed_less(a, b);
  };
  std::vector<std::uint32_t> moved;     // held entries with a newer state
  std::vector<std::uint32_t> added;     // new entries, in key order
  std::vector<std::size_t> count_places, changed_places;   // where the moved ones were
  std::vector<std::pair<std::uint32_t, const Row*>> states;  // each entry's new state
  for (const Row& r : rows) {
    const std::uint32_t store = stores.intern(r.store);
    const std::uint32_t item = items.intern(r.item);
    const auto at = std::lower_bound(by_key.begin(), by_key.end(), 0u,
                                     [&](std::uint32_t e, std::uint32_t) {
                                       const Entry& x = entries[e];
                                       if (x.store != store) return stores[x.store] < stores[store];
                                       return x.item != item && items[x.item] < items[item];
                                     });
    if (at != by_key.end() && entries[*at].store == store && entries[*at].item == item) {
      const std::uint32_t e = *at;
      const Entry& x = entries[e];
      if (x.count == r.count && x.updated_ms == r.updated_ms && x.report_id == r.report_id) continue;
      count_places.push_back(static_cast<std::size_t>(
          std::lower_bound(by_count.begin(), by_count.end(), e, by_count_less) - by_count.begin()));
      changed_places.push_back(static_cast<std::size_t>(
          std::lower_bound(by_changed.begin(), by_changed.end(), e, by_changed_less) -
          by_changed.begin()));
      moved.push_back(e);
      states.emplace_back(e, &r);
    } else {
      added.push_back(static_cast<std::uint32_t>(entries.size()));
      states.emplace_back(added.back(), &r);
      entries.push_back(Entry{store, item, 0, 0, 0});
    }
  }
  // The new states, then each order without the moved places and with the
  // moved and added ones where they now belong.
  for (const auto& [e, r] : states) {
    Entry& x = entries[e];
    x.count = r->count;
    x.updated_ms = r->updated_ms;
    x.report_id = r->report_id;
  }
  insert_sorted(by_key, added, key);
  std::sort(count_places.begin(), count_places.end());
  std::sort(changed_places.begin(), changed_places.end());
  erase_places(by_count, count_places);
  erase_places(by_changed, changed_places);
  std::vector<std::uint32_t> placed = moved;
  placed.insert(placed.end(), added.begin(), added.end());
  std::sort(placed.begin(), placed.end(), by_count_less);
  insert_sorted(by_count, placed, by_count_less);
  std::sort(placed.begin(), placed.end(), by_changed_less);
  insert_sorted(by_changed, placed, by_changed_less);
}

SortedInventory::SortedInventory(std::size_t max_rows, std::int64_t catch_up_max)
    : max_rows_(max_rows), catch_up_max_(catch_up_max) {}

void SortedInventory::keep_in_background(std::function<void()> wake) { wake_ = std::move(wake); }

bool SortedInventory::wanted() const {
  if (wanted_) return true;
  const std::shared_lock lock(mu_);
  return filled_ && !too_large_;
}

Result<bool> SortedInventory::bring_up_to(std::int64_t position, const ReadAll& all,
                                          const ReadSince& since, Reader reader) {
  if (max_rows_ == 0) return false;
  const bool page_with_keeper = reader == Reader::kPage && wake_;
  std::unique_lock reading(reading_);
  std::int64_t from = 0;
  bool whole = false;
  {
    const std::shared_lock lock(mu_);
    if (too_large_) return false;
    if (filled_ && position <= position_) return true;
    from = position_;
    whole = !filled_ || position - from > catch_up_max_;
  }
  if (whole && page_with_keeper) {
    const bool asked = wanted_.exchange(true);
    reading.unlock();
    if (!asked) wake_();
    return false;
  }
  bool over = false;
  if (whole) {
    // A new copy, built beside the one pages read now.
    wanted_ = false;
    State fresh;
    const Status st = all([&](const Row& r) {
      if (fresh.entries.size() >= max_rows_) {
        over = true;
        return false;
      }
      fresh.add(r);
      return true;
    });
    if (!st.ok()) return st.error();
    if (!over) fresh.sort_all();
    const std::unique_lock lock(mu_);
    if (over) {
      too_large_ = true;
      state_ = State{};
      return false;
    }
    state_ = std::move(fresh);
    position_ = position;
    filled_ = true;
    return true;
  }
  // The rows changed since: read, then applied in key order, each pair once.
  struct Owned {
    std::string store, item;
    std::int64_t count, updated_ms, report_id;
  };
  std::vector<Owned> read;
  const Status st = since(from, position, [&](const Row& r) {
    read.push_back(Owned{std::string(r.store), std::string(r.item), r.count, r.updated_ms,
                         r.report_id});
    return true;
  });
  if (!st.ok()) return st.error();
  std::stable_sort(read.begin(), read.end(), [](const Owned& a, const Owned& b) {
    return std::tie(a.store, a.item) < std::tie(b.store, b.item);
  });
  std::vector<Row> rows;
  rows.reserve(read.size());
  for (const Owned& o : read) {
    if (!rows.empty() && rows.back().store == o.store && rows.back().item == o.item) {
      rows.back() = Row{o.store, o.item, o.count, o.updated_ms, o.report_id};   // the later read
    } else {
      rows.push_back(Row{o.store, o.item, o.count, o.updated_ms, o.report_id});
    }
  }
  const std::unique_lock lock(mu_);
  state_.apply(rows);
  position_ = position;
  if (state_.entries.size() > max_rows_) {
    too_large_ = true;
    state_ = State{};
    return false;
  }
  return true;
}

std::vector<InventoryRow> SortedInventory::page(const InventoryQuery& q) const {
  std::vector<InventoryRow> out;
  if (q.limit <= 0) return out;
  const std::shared_lock lock(mu_);
  const State& s = state_;
  std::optional<std::uint32_t> store;
  if (q.store) {
    const auto it = s.stores.ids.find(*q.store);
    if (it == s.stores.ids.end()) return out;
    store = it->second;
  }
  const bool by_count = q.order == InventoryOrder::kCount;
  const std::vector<std::uint32_t>& order = by_count ? s.by_count : s.by_changed;
  auto from = order.begin();
  if (q.after) {
    // The first row after (after_value, store, item) in this order.
    const std::string& after_store = q.after->first;
    const std::string& after_item = q.after->second;
    const std::int64_t v = q.after_value;
    from = std::partition_point(order.begin(), order.end(), [&](std::uint32_t e) {
      const Entry& x = s.entries[e];
      const std::int64_t mine = by_count ? x.count : x.updated_ms;
      if (mine != v) return by_count ? mine < v : mine > v;
      const std::string& st = s.stores[x.store];
      if (st != after_store) return st < after_store;
      return s.items[x.item] <= after_item;
    });
  }
  std::string needle;
  std::vector<std::int8_t> holds;   // per item: -1 not yet known, 0 no, 1 yes
  if (q.item_contains) {
    needle = ascii_lower(*q.item_contains);
    holds.assign(s.items.by_id.size(), -1);
  }
  for (auto it = from; it != order.end(); ++it) {
    const Entry& x = s.entries[*it];
    if (q.out_of_stock_only && x.count != 0) {
      if (by_count) break;   // the rows at 0 come first
      continue;
    }
    if (store && x.store != *store) continue;
    if (q.item_contains) {
      std::int8_t& h = holds[x.item];
      if (h < 0) h = ascii_holds(s.items[x.item], needle) ? 1 : 0;
      if (h == 0) continue;
    }
    out.push_back(InventoryRow{s.stores[x.store], s.items[x.item], x.count,
                               from_unix_ms(x.updated_ms), x.report_id});
    if (static_cast<int>(out.size()) >= q.limit) break;
  }
  return out;
}

std::size_t SortedInventory::size() const {
  const std::shared_lock lock(mu_);
  return state_.entries.size();
}

bool SortedInventory::filled() const {
  const std::shared_lock lock(mu_);
  return filled_ && !too_large_;
}

std::int64_t SortedInventory::position() const {
  const std::shared_lock lock(mu_);
  return position_;
}

}  // namespace stockwatch

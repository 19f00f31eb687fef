// A digest as the outbox keeps it (event "digest"): what one subscription's
// summary for one period says (out of stock now, below minimum now, reports
// received and missing in the period, the largest changes, the suggested
// transfers), rendered in the
// row's language when it is sent (docs/alerts.md#digests).
//
// Contract:
// - The digest stage (pipeline/digest_stage.hpp) stores encode_digest() as
//   the row's payload: the numbers as they were at the scheduled time, and
//   the time zone's offsets at the times it names, so the rendering depends
//   only on the row and every attempt sends the same bytes.
// - quiet(): nothing to report; rendered as one "all in stock" line.
// - A payload that cannot be read is kCorrupt.
// - Pure functions, safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "notify/alert.hpp"
#include "store/storage.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

// A time and the zone's offset at it, so it renders as local time.
struct LocalTime {
  TimePoint at{};
  std::chrono::seconds offset{0};
  [[nodiscard]] std::chrono::sys_seconds local() const {
    return std::chrono::floor<std::chrono::seconds>(at) + offset;
  }
};

struct DigestMail {
  struct Item {
    std::string store;
    std::string item;
    std::int64_t count = 0;
    std::int64_t minimum = 0;            // below minimum only
  };
  // A suggested transfer to a store short of an item (pipeline/forecast_stage.hpp).
  struct Transfer {
    std::string to;                      // the store short of the item
    std::string item;
    std::string from;                    // the store that can spare it
    std::int64_t quantity = 0;
    std::int64_t to_count = 0;
    std::int64_t from_count = 0;
  };
  struct StoreAt {
    std::string store;
    LocalTime at;                        // received, or due
    bool by_day = false;                 // due: by the end of a day (day_of_month)
  };

  std::string every;                     // "daily", "weekly" or "monthly"
  LocalTime from, to;                    // the period: after `from`, up to `to`
  std::string zone;
  std::vector<Item> out_of_stock;        // listed (the first kMaxListed)
  std::int64_t out_of_stock_total = 0;
  std::vector<Item> below_minimum;
  std::int64_t below_minimum_total = 0;
  std::vector<StoreAt> received;         // stores whose report arrived in the period
  std::vector<StoreAt> missing;          // stores past a deadline at the end of it
  std::vector<CountChange> changes;      // the largest changes in the period
  std::vector<Transfer> transfers;       // for the items listed out of stock or below minimum

  [[nodiscard]] bool quiet() const {
    return out_of_stock_total == 0 && below_minimum_total == 0 && received.empty() &&
           missing.empty() && changes.empty();
  }
  static constexpr std::size_t kMaxListed = 50;
  static constexpr int kMaxChanges = 10;
};

[[nodiscard]] std::string encode_digest(const DigestMail& mail);
[[nodiscard]] Result<DigestMail> decode_digest(std::string_view payload);
[[nodiscard]] RenderedText render_digest(const DigestMail& mail, const Catalog& catalog);

}  // namespace stockwatch

#include "pipeline/forecast_stage.hpp"

#include <algorithm>

#include "notify/alert.hpp"
#include "notify/message.hpp"
#include "pipeline/checker.hpp"
#include "pipeline/recipients.hpp"
#include "pipeline/usage.hpp"

namespace stockwatch {

namespace {

// At most this many running-out items are read per report (a message
// lists the first Checker::kMaxListed and counts the rest).
constexpr int kMaxItems = 100000;
// The longest wait for a store's next report that the horizon allows for.
constexpr std::int64_t kMaxGapDays = 92;

// A stable number for one item of one report (FNV-1a, 64 bits): the key of
// its group = "item" Message-ID, the same on every run.
std::int64_t item_key(std::int64_t report_id, std::string_view store, std::string_view item) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto mix = [&](std::string_view bytes) {
    for (const char c : bytes) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // a separator no UTF-8 text contains
    h *= 1099511628211ULL;
  };
  mix(std::to_string(report_id));
  mix(store);
  mix(item);
  return static_cast<std::int64_t>(h & 0x7fffffffffffffffULL);
}

}  // namespace

MinimumLevels transfer_levels(Storage& storage, std::int64_t default_minimum) {
  auto lines = storage.levels();
  if (!lines) return MinimumLevels();
  return MinimumLevels(*lines, default_minimum);
}

Result<std::optional<TransferSuggestion>> suggest_transfer(Storage& storage,
                                                           std::string_view store,
                                                           std::string_view item,
                                                           std::int64_t count, int keep_days,
                                                           std::int64_t default_minimum) {
  return suggest_transfer(storage, transfer_levels(storage, default_minimum), store, item, count,
                          keep_days);
}

Result<std::optional<TransferSuggestion>> suggest_transfer(Storage& storage,
                                                           const MinimumLevels& levels,
                                                           std::string_view store,
                                                           std::string_view item,
                                                           std::int64_t count, int keep_days) {
  auto rows = storage.usage_of_item(item);
  if (!rows) return rows.error();
  std::optional<double> own_use;
  for (const auto& r : *rows) {
    if (r.store == store) own_use = forecast(r.figures, r.count, r.as_of_day).daily_use;
  }
  const std::int64_t need =
      transfer_need(count, own_use, levels.minimum_of(store, item), keep_days);
  if (need <= 0) return std::optional<TransferSuggestion>();
  std::optional<TransferSuggestion> best;
  std::int64_t best_spare = 0;
  for (const auto& r : *rows) {
    if (r.store == store) continue;
    const auto f = forecast(r.figures, r.count, r.as_of_day);
    const std::int64_t spare =
        transferable(r.count, f.daily_use, levels.minimum_of(r.store, item), keep_days);
    if (spare > best_spare) {
      best_spare = spare;
      best = TransferSuggestion{std::string(store), std::string(item), r.store,
                                std::min(spare, need), count, r.count};
    }
  }
  return best;
}

Result<ForecastTotals> take_in_report(Storage& storage, const Clock& clock,
                                      const AlertsConfig& cfg, const UsageReport& r,
                                      std::int64_t check_through,
                                      const std::vector<OutboxMessage>& check_messages) {
  ForecastTotals totals;
  const std::string_view name = event_name(EventKind::kRunningOut);
  const auto rs = recipients(cfg);
  std::int64_t found = 0;
  std::size_t queued = 0;
  // Judges the report's rows inside the take-in's one transaction.
  const auto judge = [&](const std::vector<UsageRow>& rows) {
    std::vector<OutboxMessage> msgs;
    const TimePoint now = clock.now();
    Alert base;
    base.event = EventKind::kRunningOut;
    base.subject_prefix = cfg.subject;
    base.report_id = r.report_id;
    base.report_path = r.path;
    base.report_time = r.time;
    // Per recipient: the items it gets (group = "report").
    std::vector<Alert> per(rs.size(), base);
    std::vector<std::vector<std::string>> stores(rs.size());
    for (const auto& row : rows) {
      // As of this report: its own count (reports loaded after it may
      // have changed the inventory since).
      const std::int64_t count = row.figures.last_count;
      const Forecast f = forecast(row.figures, count, r.day);
      if (!runs_out_within(f, r.day, warn_horizon_days(cfg.warn_days_ahead, row.gap_days))) {
        continue;
      }
      ++found;
      AlertItem item;
      item.store = row.store;
      item.item = row.item;
      item.new_count = count;
      item.daily_use = f.daily_use;
      item.runs_out_on = f.runs_out_on;
      for (std::size_t k = 0; k < rs.size(); ++k) {
        if (!recipient_wants(rs[k], name, &row.store)) continue;
        if (cfg.group == "item") {
          Alert a = base;
          a.per_item = true;
          a.items = {item};
          a.total = 1;
          a.stores = 1;
          msgs.push_back(outbox_message(cfg, rs[k], a, "running_out-item",
                                        item_key(r.report_id, row.store, row.item), now));
          continue;
        }
        Alert& a = per[k];
        ++a.total;
        if (a.items.size() < Checker::kMaxListed) a.items.push_back(item);
        auto& ss = stores[k];
        if (std::find(ss.begin(), ss.end(), row.store) == ss.end()) {
          if (static_cast<std::int64_t>(ss.size()) < Alert::kMaxStores) ss.push_back(row.store);
          else a.many_stores = true;
        }
        a.stores = static_cast<std::int64_t>(ss.size());
      }
    }
    if (cfg.group != "item") {
      for (std::size_t k = 0; k < rs.size(); ++k) {
        if (per[k].total == 0) continue;
        msgs.push_back(
            outbox_message(cfg, rs[k], per[k], "running_out-report", r.report_id, now));
      }
    }
    queued = msgs.size();
    return msgs;
  };
  // One transaction: the figures, the report's running_out messages and
  // the cursor (and, with check_through, the checker's messages and cursor).
  const std::int64_t horizon = warn_horizon_days(cfg.warn_days_ahead, kMaxGapDays);
  const Storage::UsageJudge judged =
      r.alerts && !rs.empty() ? Storage::UsageJudge(judge) : Storage::UsageJudge();
  const Status st =
      check_through > 0
          ? storage.commit_check_with_take_in(check_through, check_messages, r, horizon,
                                              kMaxItems, judged)
          : storage.take_in_usage(r, horizon, kMaxItems, judged);
  if (!st.ok()) return st.error();
  totals.running_out = found;
  totals.reports = 1;
  totals.messages = static_cast<std::int64_t>(queued);
  return totals;
}

Result<ForecastTotals> process_forecasts(Storage& storage, const Clock& clock,
                                         const AlertsConfig& cfg) {
  ForecastTotals totals;
  while (true) {
    auto next = storage.next_usage_report();
    if (!next) return next.error();
    if (!*next) break;
    auto one = take_in_report(storage, clock, cfg, **next);
    if (!one) return one.error();
    totals.running_out += one->running_out;
    totals.reports += one->reports;
    totals.messages += one->messages;
  }
  return totals;
}

}  // namespace stockwatch

#include "pipeline/forecast_stage.hpp"

#include <algorithm>

#include "notify/alert.hpp"
#include "notify/message.hpp"
#include "pipeline/checker.hpp"
#include "pipeline/usage.hpp"

namespace stockwatch {

namespace {

// At most this many running-out items are read per report (a message
// lists the first Checker::kMaxListed and counts the rest).
constexpr int kMaxItems = 100000;
// The longest wait for a store's next report that the horizon allows for.
constexpr std::int64_t kMaxGapDays = 92;

bool wants(const Subscription& sub, std::string_view event, const std::string& store) {
  const bool event_ok = sub.events.empty() ||
                        std::find(sub.events.begin(), sub.events.end(), event) != sub.events.end();
  const bool store_ok = sub.stores.empty() ||
                        std::find(sub.stores.begin(), sub.stores.end(), store) != sub.stores.end();
  return event_ok && store_ok;
}

// Every distinct address with the subscriptions it has.
std::vector<std::pair<std::string, std::vector<const Subscription*>>> recipients(
    const AlertsConfig& cfg) {
  std::vector<std::pair<std::string, std::vector<const Subscription*>>> out;
  for (const auto& sub : cfg.subscriptions) {
    for (const auto& email : sub.emails) {
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& r) { return r.first == email; });
      if (it == out.end()) {
        out.push_back({email, {}});
        it = out.end() - 1;
      }
      it->second.push_back(&sub);
    }
  }
  return out;
}

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

OutboxMessage message_for(const AlertsConfig& cfg, const std::string& recipient, const Alert& a,
                          const std::string& key, std::int64_t id_key, TimePoint now) {
  OutboxMessage m;
  m.message_id = make_message_id(key, id_key, recipient, cfg.from);
  m.report_id = a.report_id;
  m.event = std::string(event_name(a.event));
  m.channel = "email";
  m.sender = cfg.from;
  m.recipient = recipient;
  m.language = "en";
  m.payload = encode_alert(a);
  m.created_at = now;
  m.next_attempt_at = now;
  return m;
}

}  // namespace

std::int64_t item_minimum(Storage& storage, std::string_view store, std::string_view item) {
  // MERGE: return the levels store's minimum for (store, item) here.
  (void)storage, (void)store, (void)item;
  return 0;
}

Result<std::optional<TransferSuggestion>> suggest_transfer(Storage& storage,
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
      transfer_need(count, own_use, item_minimum(storage, store, item), keep_days);
  if (need <= 0) return std::optional<TransferSuggestion>();
  std::optional<TransferSuggestion> best;
  std::int64_t best_spare = 0;
  for (const auto& r : *rows) {
    if (r.store == store) continue;
    const auto f = forecast(r.figures, r.count, r.as_of_day);
    const std::int64_t spare =
        transferable(r.count, f.daily_use, item_minimum(storage, r.store, item), keep_days);
    if (spare > best_spare) {
      best_spare = spare;
      best = TransferSuggestion{std::string(store), std::string(item), r.store,
                                std::min(spare, need), count, r.count};
    }
  }
  return best;
}

Result<ForecastTotals> process_forecasts(Storage& storage, const Clock& clock,
                                         const AlertsConfig& cfg) {
  ForecastTotals totals;
  const std::string_view name = event_name(EventKind::kRunningOut);
  const auto rs = recipients(cfg);
  while (true) {
    auto next = storage.next_usage_report();
    if (!next) return next.error();
    if (!*next) break;
    const UsageReport& r = **next;
    if (auto st = storage.apply_usage(r); !st.ok()) return st.error();
    std::vector<OutboxMessage> msgs;
    if (r.alerts && !rs.empty()) {
      auto rows = storage.running_out_of_report(
          r, warn_horizon_days(cfg.warn_days_ahead, kMaxGapDays), kMaxItems);
      if (!rows) return rows.error();
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
      for (const auto& row : *rows) {
        // As of this report: its own count (reports loaded after it may
        // have changed the inventory since).
        const std::int64_t count = row.figures.last_count;
        const Forecast f = forecast(row.figures, count, r.day);
        if (!runs_out_within(f, r.day, warn_horizon_days(cfg.warn_days_ahead, row.gap_days))) {
          continue;
        }
        ++totals.running_out;
        AlertItem item;
        item.store = row.store;
        item.item = row.item;
        item.new_count = count;
        item.daily_use = f.daily_use;
        item.runs_out_on = f.runs_out_on;
        for (std::size_t k = 0; k < rs.size(); ++k) {
          const auto& subs = rs[k].second;
          if (!std::any_of(subs.begin(), subs.end(),
                           [&](const Subscription* s) { return wants(*s, name, row.store); })) {
            continue;
          }
          if (cfg.group == "item") {
            Alert a = base;
            a.per_item = true;
            a.items = {item};
            a.total = 1;
            a.stores = 1;
            msgs.push_back(message_for(cfg, rs[k].first, a, "running_out-item",
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
              message_for(cfg, rs[k].first, per[k], "running_out-report", r.report_id, now));
        }
      }
    }
    if (auto st = storage.commit_usage(r, msgs); !st.ok()) return st.error();
    ++totals.reports;
    totals.messages += static_cast<std::int64_t>(msgs.size());
  }
  return totals;
}

}  // namespace stockwatch

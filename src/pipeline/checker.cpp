#include "pipeline/checker.hpp"

#include <algorithm>
#include <ctime>
#include <functional>
#include <optional>
#include <string_view>

#include "notify/alert.hpp"
#include "notify/message.hpp"
#include "pipeline/levels_file.hpp"
#include "pipeline/forecast_stage.hpp"
#include "pipeline/recipients.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

namespace {

// The events a change record can raise, in the order their messages are
// queued; back_in_stock only with alerts.back_in_stock.
constexpr EventKind kChangeEvents[] = {EventKind::kOutOfStock, EventKind::kLowStock,
                                       EventKind::kBackInStock};

bool enabled(const AlertsConfig& cfg, EventKind e) {
  return e != EventKind::kBackInStock || cfg.back_in_stock;
}

// Calls f(event index, record) for each record of the page whose event the
// configuration sends, event by event.
template <typename F>
void for_each_event(const AlertsConfig& cfg, const PendingChanges& page, F f) {
  for (std::size_t e = 0; e < std::size(kChangeEvents); ++e) {
    if (!enabled(cfg, kChangeEvents[e])) continue;
    for (const auto& c : page.events) {
      if (c.event == kChangeEvents[e]) f(e, c);
    }
  }
}

std::size_t count_of(const PendingChanges& page, EventKind e) {
  return static_cast<std::size_t>(std::count_if(page.events.begin(), page.events.end(),
                                                [&](const ChangeRecord& c) { return c.event == e; }));
}

AlertItem item_of(const ChangeRecord& c) {
  AlertItem i;
  i.store = c.store;
  i.item = c.item;
  i.old_count = c.old_count;
  i.new_count = c.new_count;
  i.minimum = c.minimum;
  return i;
}

// The event data every message about report `p` shares.
Alert report_alert(const AlertsConfig& cfg, EventKind e, const PendingChanges& p) {
  Alert a;
  a.event = e;
  a.subject_prefix = cfg.subject;
  a.report_id = p.report_id;
  a.report_path = p.report_path;
  a.report_time = p.report_time;
  return a;
}

// What one recipient's report message for one event holds: the first items,
// and the count and stores of all of them.
struct Tally {
  Alert alert;
  std::vector<std::string> stores;  // distinct, in order of appearance

  void add(const ChangeRecord& c) {
    ++alert.total;
    if (alert.items.size() < Checker::kMaxListed) alert.items.push_back(item_of(c));
    if (alert.many_stores || std::find(stores.begin(), stores.end(), c.store) != stores.end()) {
      return;
    }
    if (static_cast<std::int64_t>(stores.size()) < Alert::kMaxStores) {
      stores.push_back(c.store);
      alert.stores = static_cast<std::int64_t>(stores.size());
    } else {
      alert.many_stores = true;
    }
  }
};

// group = "report": one message per event and recipient, built from every
// page of the report; memory is bounded by recipients x kMaxListed.
// Adds what an alert's items need from storage before it is queued
// (transfer suggestions); may be empty.
using AlertDecorator = std::function<void(Alert&)>;

class ReportDigest {
 public:
  explicit ReportDigest(const AlertsConfig& cfg, AlertDecorator decorate = {})
      : cfg_(cfg), recipients_(recipients(cfg)),
        tallies_(std::size(kChangeEvents) * recipients_.size()), decorate_(std::move(decorate)) {}

  void add(const PendingChanges& page) {
    for_each_event(cfg_, page, [&](std::size_t event, const ChangeRecord& c) {
      const std::string_view name = event_name(kChangeEvents[event]);
      for (std::size_t r = 0; r < recipients_.size(); ++r) {
        if (recipient_wants(recipients_[r], name, &c.store)) {
          tallies_[event * recipients_.size() + r].add(c);
        }
      }
    });
  }

  [[nodiscard]] std::vector<OutboxMessage> messages(const PendingChanges& p, TimePoint now) const {
    std::vector<OutboxMessage> out;
    for (std::size_t event = 0; event < std::size(kChangeEvents); ++event) {
      const EventKind kind = kChangeEvents[event];
      for (std::size_t r = 0; r < recipients_.size(); ++r) {
        const Tally& t = tallies_[event * recipients_.size() + r];
        if (t.alert.total == 0) continue;
        Alert alert = report_alert(cfg_, kind, p);
        alert.items = t.alert.items;
        alert.total = t.alert.total;
        alert.stores = t.alert.stores;
        alert.many_stores = t.alert.many_stores;
        if (decorate_) decorate_(alert);
        out.push_back(outbox_message(cfg_, recipients_[r], alert,
                                     std::string(event_name(kind)) + "-report", p.report_id, now));
      }
    }
    return out;
  }

 private:
  const AlertsConfig& cfg_;
  std::vector<Recipient> recipients_;
  std::vector<Tally> tallies_;  // [event][recipient]
  AlertDecorator decorate_;
};

// group = "item": one message per record of the page and recipient, with
// the plain subject and the one sentence.
std::vector<OutboxMessage> item_messages(const AlertsConfig& cfg, const PendingChanges& page,
                                         TimePoint now, const AlertDecorator& decorate = {}) {
  std::vector<OutboxMessage> out;
  const auto rs = recipients(cfg);
  for_each_event(cfg, page, [&](std::size_t event, const ChangeRecord& c) {
    const EventKind kind = kChangeEvents[event];
    const std::string_view name = event_name(kind);
    Alert alert = report_alert(cfg, kind, page);
    alert.per_item = true;
    alert.items = {item_of(c)};
    alert.total = 1;
    alert.stores = 1;
    if (decorate) decorate(alert);
    for (const auto& r : rs) {
      if (!recipient_wants(r, name, &c.store)) continue;
      out.push_back(outbox_message(cfg, r, alert, std::string(name) + "-change", c.seq,
                                   now));
    }
  });
  return out;
}

}  // namespace

bool is_muted(const std::vector<Mute>& mutes, std::string_view store, std::string_view item,
              TimePoint now, TimePoint changed_at, bool changed) {
  for (const auto& m : mutes) {
    if (m.store != store || (!m.item.empty() && m.item != item)) continue;
    if (m.until && now < *m.until) return true;
    if (m.until_change && !(changed && changed_at > m.created_at)) return true;
  }
  return false;
}

Checker::Checker(Storage& storage, const Clock& clock, AlertsConfig config)
    : storage_(storage), clock_(clock), config_(std::move(config)) {}

void Checker::set_config(AlertsConfig config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
}

AlertsConfig Checker::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

std::vector<OutboxMessage> Checker::messages_for(const PendingChanges& p) const {
  const AlertsConfig cfg = config();
  if (cfg.group == "item") return item_messages(cfg, p, clock_.now());
  ReportDigest digest(cfg);
  digest.add(p);
  return digest.messages(p, clock_.now());
}

std::vector<OutboxMessage> Checker::messages_for_rejection(const ReportRecord& rep) const {
  const AlertsConfig cfg = config();
  std::vector<OutboxMessage> out;
  if (!cfg.notify_rejected) return out;
  Alert alert;
  alert.event = EventKind::kReportRejected;
  alert.subject_prefix = cfg.subject;
  alert.report_id = rep.id;
  alert.report_path = rep.path;
  alert.report_time = rep.received_at;
  alert.problems = rep.problems;
  alert.problems_text = rep.error;
  const std::string_view name = event_name(EventKind::kReportRejected);
  for (const auto& r : recipients(cfg)) {
    if (!recipient_wants(r, name, nullptr)) continue;
    out.push_back(outbox_message(cfg, r, alert, std::string(name), rep.id, clock_.now()));
  }
  return out;
}

Result<int> Checker::process_report(PendingChanges& p, const std::vector<Mute>& mutes) {
  const AlertsConfig cfg = config();
  const TimePoint now = clock_.now();
  // Muted items raise nothing: dropped from each page as it is read.
  const auto drop_muted = [&] {
    if (mutes.empty()) return;
    std::erase_if(p.events, [&](const ChangeRecord& c) {
      const bool changed = !c.old_count || *c.old_count != c.new_count;
      return is_muted(mutes, c.store, c.item, now, p.report_time, changed);
    });
  };
  drop_muted();
  // An item out of stock or below its minimum gets a transfer suggestion
  // when another store can spare some (pipeline/forecast_stage.hpp); a
  // failed lookup only leaves it out.
  // The minimum levels are read once per report, when the first item
  // short of stock asks for them.
  std::optional<MinimumLevels> levels;
  const AlertDecorator transfers = [&](Alert& alert) {
    if (alert.event != EventKind::kOutOfStock && alert.event != EventKind::kLowStock) return;
    if (!levels) levels = transfer_levels(storage_, cfg.default_minimum);
    for (auto& item : alert.items) {
      auto t = suggest_transfer(storage_, *levels, item.store, item.item, item.new_count,
                                cfg.transfer_keep_days);
      if (!t || !*t) continue;
      item.transfer_from = (*t)->from;
      item.transfer_quantity = (*t)->quantity;
      item.transfer_from_count = (*t)->from_count;
    }
  };
  // A levels file's re-evaluation is one message per recipient (and
  // event), whatever the grouping: it can concern every item at once.
  if (cfg.group == "item" && !is_levels_name(p.report_path)) {
    // A transaction per page: its messages, and the cursor moved to the
    // page's last record (to the report's end after the last page).
    int queued = 0;
    while (true) {
      const auto msgs = item_messages(cfg, p, now, transfers);
      const std::int64_t through = p.more_after != 0 ? p.more_after : p.last_seq;
      if (p.more_after == 0) {
        auto taken = commit_with_take_in(p, cfg, msgs);
        if (!taken) return taken.error();
        queued += *taken;
      } else if (auto st = storage_.commit_check(through, 0, msgs); !st.ok()) {
        return st.error();
      }
      queued += static_cast<int>(msgs.size());
      add_totals(count_of(p, EventKind::kOutOfStock), count_of(p, EventKind::kBackInStock),
                 msgs.size());
      {
        std::lock_guard lock(mu_);
        totals_.low_stock += static_cast<std::int64_t>(count_of(p, EventKind::kLowStock));
      }
      if (p.more_after == 0) return queued;
      if (auto st = storage_.next_change_page(p, kPageSize); !st.ok()) return st.error();
      drop_muted();
    }
  }
  // The report's messages need all of its pages: one transaction at the end.
  ReportDigest digest(cfg, transfers);
  std::size_t out_of_stock = 0, back_in_stock = 0, low_stock = 0;
  while (true) {
    digest.add(p);
    out_of_stock += count_of(p, EventKind::kOutOfStock);
    back_in_stock += count_of(p, EventKind::kBackInStock);
    low_stock += count_of(p, EventKind::kLowStock);
    if (p.more_after == 0) break;
    if (auto st = storage_.next_change_page(p, kPageSize); !st.ok()) return st.error();
    drop_muted();
  }
  const auto msgs = digest.messages(p, now);
  auto taken_in = commit_with_take_in(p, cfg, msgs);  // and its running_out messages
  if (!taken_in) return taken_in.error();
  add_totals(out_of_stock, back_in_stock, msgs.size());
  {
    std::lock_guard lock(mu_);
    totals_.low_stock += static_cast<std::int64_t>(low_stock);
  }
  return static_cast<int>(msgs.size()) + *taken_in;
}

Result<int> Checker::commit_with_take_in(const PendingChanges& p, const AlertsConfig& cfg,
                                         const std::vector<OutboxMessage>& msgs) {
  auto next = storage_.next_usage_report();
  if (!next) return next.error();
  const bool along = *next && (*next)->report_id == p.report_id &&
                     (*next)->last_seq == p.last_seq &&
                     (msgs.empty() || (*next)->changes <= static_cast<std::int64_t>(kPageSize));
  if (!along) {
    if (auto st = storage_.commit_check(p.last_seq, 0, msgs); !st.ok()) return st.error();
    return 0;
  }
  auto taken = take_in_report(storage_, clock_, cfg, **next, p.last_seq, msgs);
  if (!taken) return taken.error();
  std::lock_guard lock(mu_);
  totals_.running_out += taken->running_out;
  totals_.messages += taken->messages;
  return static_cast<int>(taken->messages);
}

Result<int> Checker::process_due() {
  int queued = 0;
  auto mutes = storage_.mutes();
  if (!mutes) return mutes.error();
  while (true) {
    auto next = storage_.next_pending_changes(kPageSize);
    if (!next) return next.error();
    if (!*next) break;
    auto n = process_report(**next, *mutes);
    if (!n) return n.error();
    queued += *n;
  }
  while (true) {
    auto next = storage_.next_pending_rejection();
    if (!next) return next.error();
    if (!*next) break;
    auto msgs = messages_for_rejection(**next);
    if (auto st = storage_.commit_check(0, (*next)->id, msgs); !st.ok()) return st.error();
    queued += static_cast<int>(msgs.size());
    std::lock_guard lock(mu_);
    totals_.report_rejected += 1;
    totals_.messages += static_cast<std::int64_t>(msgs.size());
  }
  // Use rates and running_out alerts (pipeline/forecast_stage.hpp), after
  // the stock alerts so that a large report's take-in never delays them
  // (the transfers above judge use by the reports taken in before).
  auto forecasts = process_forecasts(storage_, clock_, config());
  if (!forecasts) return forecasts.error();
  queued += static_cast<int>(forecasts->messages);
  {
    std::lock_guard lock(mu_);
    totals_.running_out += forecasts->running_out;
    totals_.messages += forecasts->messages;
  }
  auto reminded = process_reminders(*mutes);
  if (!reminded) return reminded.error();
  return queued + *reminded;
}

Result<int> Checker::process_reminders(const std::vector<Mute>& mutes) {
  const AlertsConfig cfg = config();
  if (cfg.still_out_every_days <= 0) return 0;
  constexpr Duration kDay = std::chrono::hours(24);
  const TimePoint now = clock_.now();
  const TimePoint today = TimePoint(std::chrono::floor<std::chrono::days>(now.time_since_epoch()));
  constexpr std::string_view kMark = "still_out";
  auto mark = storage_.schedule_mark(kMark);
  if (!mark) return mark.error();
  if (*mark && **mark >= today) return 0;
  const std::int64_t every = cfg.still_out_every_days;
  // The items due today, in (store, item) order, a page at a time.
  const auto rs = recipients(cfg);
  const std::string_view name = event_name(EventKind::kStillOut);
  std::vector<Tally> tallies(rs.size());
  std::int64_t items = 0;
  InventoryQuery q;
  q.out_of_stock_only = true;
  q.limit = 1000;
  while (true) {
    auto page = storage_.list_inventory(q);
    if (!page) return page.error();
    for (const auto& row : *page) {
      const auto days = static_cast<std::int64_t>((now - row.updated_at) / kDay);
      if (days < every || days % every != 0) continue;
      if (is_muted(mutes, row.store, row.item, now, row.updated_at, true)) continue;
      ChangeRecord c;
      c.store = row.store;
      c.item = row.item;
      c.new_count = 0;
      c.report_id = row.report_id;
      ++items;
      for (std::size_t r = 0; r < rs.size(); ++r) {
        if (recipient_wants(rs[r], name, &c.store)) tallies[r].add(c);
      }
    }
    if (page->size() < static_cast<std::size_t>(q.limit)) break;
    q.after = std::make_pair(page->back().store, page->back().item);
  }
  std::vector<OutboxMessage> msgs;
  for (std::size_t r = 0; r < rs.size(); ++r) {
    if (tallies[r].alert.total == 0) continue;
    Alert alert;
    alert.event = EventKind::kStillOut;
    alert.subject_prefix = cfg.subject;
    alert.report_time = now;
    alert.every_days = every;
    alert.items = tallies[r].alert.items;
    alert.total = tallies[r].alert.total;
    alert.stores = tallies[r].alert.stores;
    alert.many_stores = tallies[r].alert.many_stores;
    // One reminder a day per recipient: the day is the Message-ID's key.
    const auto day_number = static_cast<std::int64_t>(today.time_since_epoch() / kDay);
    msgs.push_back(outbox_message(cfg, rs[r], alert, std::string(name), day_number, now));
  }
  auto committed = storage_.commit_schedule(kMark, today, msgs);
  if (!committed) return committed.error();
  if (!*committed) return 0;
  std::lock_guard lock(mu_);
  totals_.still_out += items;
  totals_.messages += static_cast<std::int64_t>(msgs.size());
  return static_cast<int>(msgs.size());
}

void Checker::add_totals(std::size_t out_of_stock, std::size_t back_in_stock,
                         std::size_t messages) {
  std::lock_guard lock(mu_);
  totals_.out_of_stock += static_cast<std::int64_t>(out_of_stock);
  totals_.back_in_stock += static_cast<std::int64_t>(back_in_stock);
  totals_.messages += static_cast<std::int64_t>(messages);
}

CheckerTotals Checker::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

}  // namespace stockwatch

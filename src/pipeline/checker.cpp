#include "pipeline/checker.hpp"

#include <algorithm>
#include <ctime>
#include <string_view>

#include "notify/message.hpp"

namespace stockwatch {

namespace {

bool wants(const Subscription& sub, std::string_view event) {
  return sub.events.empty() || std::find(sub.events.begin(), sub.events.end(), event) != sub.events.end();
}

bool covers_store(const Subscription& sub, const std::string& store) {
  return sub.stores.empty() || std::find(sub.stores.begin(), sub.stores.end(), store) != sub.stores.end();
}

std::string utc_time(TimePoint t) { return format_utc(t, "%Y-%m-%d %H:%M:%S UTC"); }

// Every distinct recipient, each with the union of what its subscriptions allow.
struct Recipient {
  std::string address;
  std::vector<const Subscription*> subs;
};

std::vector<Recipient> recipients(const AlertsConfig& cfg) {
  std::vector<Recipient> out;
  for (const auto& sub : cfg.subscriptions) {
    for (const auto& email : sub.emails) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Recipient& r) { return r.address == email; });
      if (it == out.end()) {
        out.push_back({email, {}});
        it = out.end() - 1;
      }
      it->subs.push_back(&sub);
    }
  }
  return out;
}

bool recipient_wants(const Recipient& r, std::string_view event, const std::string* store) {
  return std::any_of(r.subs.begin(), r.subs.end(), [&](const Subscription* s) {
    return wants(*s, event) && (!store || covers_store(*s, *store));
  });
}

// The two change events, in the order their messages are queued.
struct ChangeEvent {
  const char* name;
  const char* state;  // "Medan: 3 items <state>"
};
constexpr ChangeEvent kChangeEvents[] = {{"out_of_stock", "out of stock"},
                                         {"back_in_stock", "back in stock"}};

std::string sentence(const ChangeRecord& c) {
  return c.new_count == 0 ? out_of_stock_sentence(c.store, c.item)
                          : back_in_stock_sentence(c.store, c.item, c.new_count);
}

// Calls f(event index, record) for each record of the page that is an
// event the configuration sends.
template <typename F>
void for_each_event(const AlertsConfig& cfg, const PendingChanges& page, F f) {
  for (const auto& c : page.out_of_stock) f(0, c);
  if (!cfg.back_in_stock) return;
  for (const auto& c : page.back_in_stock) f(1, c);
}

// What one recipient's report message for one event holds: the first items,
// and the count and stores of all of them.
struct Tally {
  static constexpr std::size_t kMaxStores = 1000;
  std::vector<ChangeRecord> listed;
  std::int64_t total = 0;
  std::vector<std::string> stores;  // distinct, in order of appearance
  bool many_stores = false;         // more than kMaxStores

  void add(const ChangeRecord& c) {
    ++total;
    if (listed.size() < Checker::kMaxListed) listed.push_back(c);
    if (many_stores || std::find(stores.begin(), stores.end(), c.store) != stores.end()) return;
    if (stores.size() < kMaxStores) stores.push_back(c.store);
    else many_stores = true;
  }
  [[nodiscard]] std::int64_t unlisted() const {
    return total - static_cast<std::int64_t>(listed.size());
  }
};

// "Medan: Robusta Dairi is out of stock", "Medan: 3 items out of stock",
// "3 stores, 12 items out of stock" (and the same with "back in stock").
std::string summary(const Tally& t, const char* state) {
  const std::string items = std::to_string(t.total) + " items " + state;
  if (t.many_stores) return "over " + std::to_string(Tally::kMaxStores) + " stores, " + items;
  if (t.stores.size() > 1) return std::to_string(t.stores.size()) + " stores, " + items;
  const std::string store = sanitize_text(t.stores.front());
  if (t.total == 1) return store + ": " + sanitize_text(t.listed.front().item) + " is " + state;
  return store + ": " + items;
}

std::string footer(const PendingChanges& p) {
  return "\nReport: " + sanitize_text(p.report_path) + " (report " + std::to_string(p.report_id) +
         "), loaded " + utc_time(p.report_time) + "\n";
}

// One queued message to one recipient. Its Message-ID comes from (key,
// id_key, recipient), so the same alert always gets the same id.
OutboxMessage outbox_message(const AlertsConfig& cfg, const std::string& recipient,
                             const std::string& event, const std::string& key, std::int64_t id_key,
                             std::int64_t report_id, const std::string& subject,
                             const std::string& body, TimePoint now) {
  OutboxMessage m;
  m.message_id = make_message_id(key, id_key, recipient, cfg.from);
  m.report_id = report_id;
  m.event = event;
  m.sender = cfg.from;
  m.recipient = recipient;
  m.subject = subject;
  m.created_at = now;
  m.next_attempt_at = now;
  m.data = render_message({cfg.from, recipient, subject, body, m.message_id, now});
  return m;
}

// group = "report": one message per event and recipient, built from every
// page of the report; memory is bounded by recipients x kMaxListed.
class ReportDigest {
 public:
  explicit ReportDigest(const AlertsConfig& cfg)
      : cfg_(cfg), recipients_(recipients(cfg)), tallies_(2 * recipients_.size()) {}

  void add(const PendingChanges& page) {
    for_each_event(cfg_, page, [&](int event, const ChangeRecord& c) {
      for (std::size_t r = 0; r < recipients_.size(); ++r) {
        if (recipient_wants(recipients_[r], kChangeEvents[event].name, &c.store)) {
          tallies_[event * recipients_.size() + r].add(c);
        }
      }
    });
  }

  [[nodiscard]] std::vector<OutboxMessage> messages(const PendingChanges& p, TimePoint now) const {
    std::vector<OutboxMessage> out;
    for (std::size_t event = 0; event < 2; ++event) {
      const ChangeEvent& ev = kChangeEvents[event];
      for (std::size_t r = 0; r < recipients_.size(); ++r) {
        const Tally& t = tallies_[event * recipients_.size() + r];
        if (t.total == 0) continue;
        std::string body;
        for (const auto& c : t.listed) body += sentence(c) + "\n";
        std::string sum = summary(t, ev.state);
        if (const std::int64_t more = t.unlisted(); more > 0) {
          const std::string listed = std::to_string(t.listed.size());
          body += "... and " + std::to_string(more) + " more item(s) " + ev.state +
                  " in this report for your subscription, not listed here (this message lists "
                  "the first " + listed + " of " + std::to_string(t.total) +
                  "); the inventory table has them all\n";
          sum += " (first " + listed + " listed)";
        }
        body += footer(p);
        out.push_back(outbox_message(cfg_, recipients_[r].address, ev.name,
                                     std::string(ev.name) + "-report", p.report_id, p.report_id,
                                     cfg_.subject + (cfg_.subject.empty() ? "" : " ") + sum, body,
                                     now));
      }
    }
    return out;
  }

 private:
  const AlertsConfig& cfg_;
  std::vector<Recipient> recipients_;
  std::vector<Tally> tallies_;  // [event][recipient]
};

// group = "item": one message per record of the page and recipient, with
// the plain subject and the one sentence.
std::vector<OutboxMessage> item_messages(const AlertsConfig& cfg, const PendingChanges& page,
                                         TimePoint now) {
  std::vector<OutboxMessage> out;
  const auto rs = recipients(cfg);
  for_each_event(cfg, page, [&](int event, const ChangeRecord& c) {
    const char* name = kChangeEvents[event].name;
    for (const auto& r : rs) {
      if (!recipient_wants(r, name, &c.store)) continue;
      out.push_back(outbox_message(cfg, r.address, name, std::string(name) + "-change", c.seq,
                                   page.report_id, cfg.subject, sentence(c) + "\n", now));
    }
  });
  return out;
}

}  // namespace

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
  const TimePoint now = clock_.now();
  const std::string name = sanitize_text(rep.path);
  const std::string subject = cfg.subject + " Report rejected: " + name;
  const std::string body = "The report " + name + " was rejected and nothing of it was loaded.\n"
                           "Until a corrected report arrives, nobody is watching this stock.\n\n"
                           "Problems found:\n" + rep.error + "\n\n"
                           "Fix the report and deliver it again.\n"
                           "\nReport: " + name + " (report " + std::to_string(rep.id) +
                           "), received " + utc_time(rep.received_at) + "\n";
  for (const auto& r : recipients(cfg)) {
    if (!recipient_wants(r, "report_rejected", nullptr)) continue;
    out.push_back(outbox_message(cfg, r.address, "report_rejected", "report_rejected", rep.id,
                                 rep.id, subject, body, now));
  }
  return out;
}

Result<int> Checker::process_report(PendingChanges& p) {
  const AlertsConfig cfg = config();
  const TimePoint now = clock_.now();
  if (cfg.group == "item") {
    // A transaction per page: its messages, and the cursor moved to the
    // page's last record (to the report's end after the last page).
    int queued = 0;
    while (true) {
      const auto msgs = item_messages(cfg, p, now);
      const std::int64_t through = p.more_after != 0 ? p.more_after : p.last_seq;
      if (auto st = storage_.commit_check(through, 0, msgs); !st.ok()) return st.error();
      queued += static_cast<int>(msgs.size());
      add_totals(p.out_of_stock.size(), p.back_in_stock.size(), msgs.size());
      if (p.more_after == 0) return queued;
      if (auto st = storage_.next_change_page(p, kPageSize); !st.ok()) return st.error();
    }
  }
  // The report's messages need all of its pages: one transaction at the end.
  ReportDigest digest(cfg);
  std::size_t out_of_stock = 0, back_in_stock = 0;
  while (true) {
    digest.add(p);
    out_of_stock += p.out_of_stock.size();
    back_in_stock += p.back_in_stock.size();
    if (p.more_after == 0) break;
    if (auto st = storage_.next_change_page(p, kPageSize); !st.ok()) return st.error();
  }
  const auto msgs = digest.messages(p, now);
  if (auto st = storage_.commit_check(p.last_seq, 0, msgs); !st.ok()) return st.error();
  add_totals(out_of_stock, back_in_stock, msgs.size());
  return static_cast<int>(msgs.size());
}

Result<int> Checker::process_due() {
  int queued = 0;
  while (true) {
    auto next = storage_.next_pending_changes(kPageSize);
    if (!next) return next.error();
    if (!*next) break;
    auto n = process_report(**next);
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
  return queued;
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

#include "stockwatch/checker.hpp"

#include <algorithm>
#include <ctime>

#include "stockwatch/message.hpp"

namespace stockwatch {

namespace {

bool wants(const Subscription& sub, const std::string& event) {
  return sub.events.empty() || std::find(sub.events.begin(), sub.events.end(), event) != sub.events.end();
}

bool covers_store(const Subscription& sub, const std::string& store) {
  return sub.stores.empty() || std::find(sub.stores.begin(), sub.stores.end(), store) != sub.stores.end();
}

std::string utc_time(TimePoint t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

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

bool recipient_wants(const Recipient& r, const std::string& event, const std::string* store) {
  return std::any_of(r.subs.begin(), r.subs.end(), [&](const Subscription* s) {
    return wants(*s, event) && (!store || covers_store(*s, *store));
  });
}

// "Medan: Robusta Dairi is out of stock", "Medan: 3 items out of stock",
// "3 stores, 12 items out of stock" (and the same with "back in stock").
std::string summary(const std::vector<const ChangeRecord*>& changes, bool out_of_stock) {
  const char* state = out_of_stock ? "out of stock" : "back in stock";
  std::vector<std::string> stores;
  for (const auto* c : changes) {
    if (std::find(stores.begin(), stores.end(), c->store) == stores.end()) stores.push_back(c->store);
  }
  const std::string items = std::to_string(changes.size()) + " items ";
  if (stores.size() > 1) return std::to_string(stores.size()) + " stores, " + items + state;
  const std::string store = sanitize_text(stores.front());
  if (changes.size() == 1) return store + ": " + sanitize_text(changes.front()->item) + " is " + state;
  return store + ": " + items + state;
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

}  // namespace

Checker::Checker(Storage& storage, const Clock& clock, AlertsConfig config)
    : storage_(storage), clock_(clock), config_(std::move(config)) {}

void Checker::set_config(AlertsConfig config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
}

std::vector<OutboxMessage> Checker::messages_for(const PendingChanges& p) const {
  std::lock_guard lock(mu_);
  std::vector<OutboxMessage> out;
  const TimePoint now = clock_.now();
  const std::string footer = "\nReport: " + sanitize_text(p.report_path) + " (report " +
                             std::to_string(p.report_id) + "), loaded " + utc_time(p.report_time) +
                             "\n";

  struct Event {
    const char* name;
    const std::vector<ChangeRecord>* changes;
    std::int64_t total;
  };
  std::vector<Event> events;
  events.push_back({"out_of_stock", &p.out_of_stock, p.out_of_stock_total});
  if (config_.back_in_stock) {
    events.push_back({"back_in_stock", &p.back_in_stock, p.back_in_stock_total});
  }

  for (const auto& ev : events) {
    if (ev.changes->empty()) continue;
    for (const auto& r : recipients(config_)) {
      std::vector<const ChangeRecord*> mine;
      for (const auto& c : *ev.changes) {
        if (recipient_wants(r, ev.name, &c.store)) mine.push_back(&c);
      }
      if (mine.empty()) continue;
      const bool oos = std::string(ev.name) == "out_of_stock";
      auto sentence = [&](const ChangeRecord& c) {
        return oos ? out_of_stock_sentence(c.store, c.item)
                   : back_in_stock_sentence(c.store, c.item, c.new_count);
      };
      auto make = [&](const std::string& key, std::int64_t id_key, const std::string& subject,
                      const std::string& body) {
        out.push_back(outbox_message(config_, r.address, ev.name, key, id_key, p.report_id,
                                     subject, body, now));
      };
      // A huge report lists its first items only; the rest are counted.
      const std::int64_t listed = static_cast<std::int64_t>(ev.changes->size());
      const std::int64_t more = std::max<std::int64_t>(0, ev.total - listed);
      const std::string rest =
          more == 0 ? std::string()
                    : "... and " + std::to_string(more) + " more item(s) " +
                          (oos ? "out of stock" : "back in stock") +
                          " in this report, not listed here (the list stops at " +
                          std::to_string(listed) + "); the inventory table has them all\n";
      if (config_.group == "item") {
        for (const auto* c : mine) {
          make(std::string(ev.name) + "-change", c->seq, config_.subject, sentence(*c) + "\n");
        }
        if (more > 0) make(std::string(ev.name) + "-rest", p.report_id, config_.subject, rest + footer);
      } else {
        std::string body;
        for (const auto* c : mine) body += sentence(*c) + "\n";
        body += rest;
        body += footer;
        const std::string sum =
            more == 0 ? summary(mine, oos)
                      : std::to_string(ev.total) + " items " + (oos ? "out of stock" : "back in stock");
        make(std::string(ev.name) + "-report", p.report_id,
             config_.subject + (config_.subject.empty() ? "" : " ") + sum, body);
      }
    }
  }
  return out;
}

std::vector<OutboxMessage> Checker::messages_for_rejection(const ReportRecord& rep) const {
  std::lock_guard lock(mu_);
  std::vector<OutboxMessage> out;
  if (!config_.notify_rejected) return out;
  const TimePoint now = clock_.now();
  const std::string name = sanitize_text(rep.path);
  const std::string subject = config_.subject + " Report rejected: " + name;
  const std::string body = "The report " + name + " was rejected and nothing of it was loaded.\n"
                           "Until a corrected report arrives, nobody is watching this stock.\n\n"
                           "Problems found:\n" + rep.error + "\n\n"
                           "Fix the report and deliver it again.\n"
                           "\nReport: " + name + " (report " + std::to_string(rep.id) +
                           "), received " + utc_time(rep.received_at) + "\n";
  for (const auto& r : recipients(config_)) {
    if (!recipient_wants(r, "report_rejected", nullptr)) continue;
    out.push_back(outbox_message(config_, r.address, "report_rejected", "report_rejected", rep.id,
                                 rep.id, subject, body, now));
  }
  return out;
}

Result<int> Checker::process_due() {
  int queued = 0;
  while (true) {
    auto next = storage_.next_pending_changes();
    if (!next) return next.error();
    if (!*next) break;
    auto msgs = messages_for(**next);
    if (auto st = storage_.commit_check((*next)->last_seq, 0, msgs); !st.ok()) return st.error();
    queued += static_cast<int>(msgs.size());
    std::lock_guard lock(mu_);
    totals_.out_of_stock += (*next)->out_of_stock_total;
    totals_.back_in_stock += (*next)->back_in_stock_total;
    totals_.messages += static_cast<std::int64_t>(msgs.size());
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

CheckerTotals Checker::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

}  // namespace stockwatch

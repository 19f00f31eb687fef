#include "pipeline/expect_stage.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "base/schedule.hpp"
#include "notify/message.hpp"
#include "notify/report_missing.hpp"
#include "pipeline/recipients.hpp"

namespace stockwatch {

namespace {

constexpr int kMaxStores = 100000;
using std::chrono::hours;

// day_of_month = D: midnight at the end of day D, every month.
Recurrence month_end_of_day(const ExpectRule& rule, const TimeZone& zone) {
  Recurrence r;
  r.every = Recurrence::Every::kMonth;
  r.day = rule.day_of_month;
  r.minute_of_day = 24 * 60;
  r.zone = zone;
  return r;
}

Duration period(const ExpectRule& rule) { return hours(24 * rule.within_days); }

// The stores a rule covers, with their newest report (none: never).
std::vector<std::pair<std::string, std::optional<TimePoint>>> stores_of(
    const ExpectRule& rule, const std::vector<StoreReport>& seen) {
  std::vector<std::pair<std::string, std::optional<TimePoint>>> out;
  if (rule.stores.empty()) {
    for (const auto& s : seen) out.emplace_back(s.store, s.received_at);
    return out;
  }
  for (const auto& name : rule.stores) {
    const auto it = std::find_if(seen.begin(), seen.end(),
                                 [&name](const StoreReport& s) { return s.store == name; });
    out.emplace_back(name, it == seen.end() ? std::nullopt : std::optional<TimePoint>(it->received_at));
  }
  return out;
}

// When the rule was first applied: noted by the first step that sees it.
Result<TimePoint> rule_since(Storage& storage, const ExpectRule& rule, TimePoint now) {
  const std::string name = "since " + expect_rule_key(rule);
  auto mark = storage.schedule_mark(name);
  if (!mark) return mark.error();
  if (*mark) return **mark;
  auto noted = storage.commit_schedule(name, now, {});
  if (!noted) return noted.error();
  return now;
}

}  // namespace

std::string expect_rule_key(const ExpectRule& rule) {
  std::string key = "expect ";
  key += rule.within_days > 0 ? "within " + std::to_string(rule.within_days) + " days"
                              : "day " + std::to_string(rule.day_of_month) + " of the month";
  key += " [";
  for (std::size_t i = 0; i < rule.stores.size(); ++i) key += (i ? "\n" : "") + rule.stores[i];
  key += "]";
  return key;
}

std::optional<TimePoint> missed_deadline(const ExpectRule& rule, const TimeZone& zone,
                                         std::optional<TimePoint> last, TimePoint since,
                                         TimePoint t) {
  if (rule.within_days > 0) {
    const TimePoint base = last.value_or(since);
    const Duration n = period(rule);
    if (t < base + n) return std::nullopt;
    return base + n * ((t - base) / n);
  }
  const Recurrence r = month_end_of_day(rule, zone);
  const TimePoint due = r.latest_at_or_before(t);
  const TimePoint window_start = r.previous(due);
  if (last) {
    if (*last > window_start) return std::nullopt;
  } else if (due <= since) {
    return std::nullopt;  // due before the rule applied to a store never seen
  }
  return due;
}

TimePoint next_deadline(const ExpectRule& rule, const TimeZone& zone, std::optional<TimePoint> last,
                        TimePoint since, TimePoint t) {
  if (rule.within_days > 0) {
    const TimePoint base = last.value_or(since);
    const Duration n = period(rule);
    if (t < base + n) return base + n;
    return base + n * ((t - base) / n + 1);
  }
  return month_end_of_day(rule, zone).next_after(t);
}

ExpectStageOptions ExpectStageOptions::from(const Config& config) {
  ExpectStageOptions o;
  o.rules = config.alerts.expect;
  o.zone = config.alerts.zone;
  o.sender = config.alerts.from;
  o.subscriptions = config.alerts.subscriptions;
  o.language = config.alerts.language;
  return o;
}

ExpectStage::ExpectStage(Storage& storage, const Clock& clock, ExpectStageOptions options)
    : storage_(storage), clock_(clock), options_(std::move(options)) {}

std::optional<TimePoint> ExpectStage::next_due() const {
  if (options_.rules.empty()) return std::nullopt;
  const TimePoint cap = clock_.now() + hours(1);
  return next_ ? std::min(*next_, cap) : cap;
}

Result<std::vector<MissingReport>> ExpectStage::missing_now(Storage& storage,
                                                            const ExpectStageOptions& options,
                                                            TimePoint now,
                                                            std::optional<TimePoint>* next) {
  std::vector<MissingReport> out;
  if (options.rules.empty()) return out;
  auto seen = storage.store_reports(kMaxStores);
  if (!seen) return seen.error();
  std::map<std::string, MissingReport> by_store;
  for (const ExpectRule& rule : options.rules) {
    auto since = rule_since(storage, rule, now);
    if (!since) return since.error();
    for (const auto& [store, last] : stores_of(rule, *seen)) {
      if (next) {
        const TimePoint n = next_deadline(rule, options.zone, last, *since, now);
        if (!*next || n < **next) *next = n;
      }
      const auto due = missed_deadline(rule, options.zone, last, *since, now);
      if (!due) continue;
      auto& m = by_store[store];
      if (m.store.empty() || *due > m.due) m = MissingReport{store, *due, last, &rule};
    }
  }
  for (auto& [store, m] : by_store) out.push_back(std::move(m));
  return out;
}

Result<ExpectStep> ExpectStage::process_due() {
  ExpectStep step;
  if (options_.rules.empty()) return step;
  const TimePoint now = clock_.now();
  std::optional<TimePoint> next;
  auto seen = storage_.store_reports(kMaxStores);
  if (!seen) return seen.error();

  // One message per recipient (channel and address), store and deadline,
  // in the recipient's language.
  const std::vector<Recipient> rs = recipients(options_.subscriptions, options_.language);
  const std::string_view event = event_name(EventKind::kReportMissing);
  const auto queue = [&](const std::string& mark, TimePoint due, ReportMissingMail mail,
                         bool escalated) -> Result<bool> {
    const std::string payload = encode_report_missing(mail);
    const std::string kind = std::string(escalated ? "escalated-" : "missing-") + mail.store;
    std::vector<OutboxMessage> messages;
    for (const Recipient& r : rs) {
      if (escalated ? !recipient_wants_every_store(r, event) : !recipient_wants(r, event, &mail.store)) {
        continue;
      }
      messages.push_back(queued_message(r, options_.sender, event, payload, kind, to_unix_ms(due), now));
    }
    auto done = storage_.commit_schedule(mark, due, messages);
    if (!done) return done.error();
    if (*done) step.queued += messages.size();
    return *done;
  };

  for (const ExpectRule& rule : options_.rules) {
    auto since = rule_since(storage_, rule, now);
    if (!since) return since.error();
    const std::string key = expect_rule_key(rule);
    for (const auto& [store, last] : stores_of(rule, *seen)) {
      const TimePoint n = next_deadline(rule, options_.zone, last, *since, now);
      if (!next || n < *next) next = n;
      const auto due = missed_deadline(rule, options_.zone, last, *since, now);
      if (!due) continue;
      const auto mail_of = [&](TimePoint d, bool escalated) {
        ReportMissingMail mail;
        mail.store = store;
        mail.due = d;
        mail.due_offset = options_.zone.offset_at(d);
        mail.last_report = last;
        if (last) mail.last_offset = options_.zone.offset_at(*last);
        mail.zone = options_.zone.name();
        mail.within_days = rule.within_days;
        mail.day_of_month = rule.day_of_month;
        mail.escalated = escalated;
        mail.days_late = static_cast<int>(std::chrono::floor<std::chrono::days>(now - d).count());
        return mail;
      };
      const std::string missing_mark = key + " " + store;
      auto handled = storage_.schedule_mark(missing_mark);
      if (!handled) return handled.error();
      if (!*handled || **handled < *due) {
        auto queued = queue(missing_mark, *due, mail_of(*due, false), false);
        if (!queued) return queued.error();
        if (*queued) step.missing.push_back(store);
      }
      if (rule.escalate_after_days <= 0) continue;
      const Duration after = hours(24 * rule.escalate_after_days);
      const auto overdue = missed_deadline(rule, options_.zone, last, *since, now - after);
      if (!overdue) {
        // The escalation of this deadline is still to come.
        if (!next || *due + after < *next) next = *due + after;
        continue;
      }
      const std::string escalate_mark = "escalate " + key + " " + store;
      auto escalated = storage_.schedule_mark(escalate_mark);
      if (!escalated) return escalated.error();
      if (!*escalated || **escalated < *overdue) {
        auto queued = queue(escalate_mark, *overdue, mail_of(*overdue, true), true);
        if (!queued) return queued.error();
        if (*queued) step.escalated.push_back(store);
      }
    }
  }
  next_ = next;
  return step;
}

}  // namespace stockwatch

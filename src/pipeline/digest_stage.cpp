#include "pipeline/digest_stage.hpp"

#include <algorithm>
#include <utility>

#include "crypto/sha256.hpp"
#include "notify/message.hpp"
#include "pipeline/forecast_stage.hpp"
#include "pipeline/minimum_levels.hpp"
#include "pipeline/recipients.hpp"

namespace stockwatch {

namespace {

constexpr int kMaxStores = 100000;

const char* every_name(const Recurrence& r) {
  switch (r.every) {
    case Recurrence::Every::kDay: return "daily";
    case Recurrence::Every::kWeek: return "weekly";
    case Recurrence::Every::kMonth: return "monthly";
  }
  return "daily";
}

// The mark of one subscription's digest: its schedule, addresses and stores,
// so a changed subscription starts afresh.
std::string mark_name(const Subscription& sub) {
  std::string name = "digest " + sub.digest_schedule->to_string() + " to";
  for (const auto& e : sub.emails) name += " " + e;
  // Chats and webhooks only when set, so an email digest keeps its mark.
  if (!sub.webhook.empty()) name += " webhook " + sub.webhook;
  if (!sub.telegram.empty()) name += " telegram " + sub.telegram;
  name += " [";
  for (std::size_t i = 0; i < sub.stores.size(); ++i) name += (i ? "\n" : "") + sub.stores[i];
  return name + "]";
}

bool in(const std::vector<std::string>& stores, const std::string& store) {
  return stores.empty() || std::find(stores.begin(), stores.end(), store) != stores.end();
}

}  // namespace

Result<std::pair<std::vector<DigestMail::Item>, std::int64_t>> below_minimum_now(
    Storage& storage, const MinimumLevels& levels, const std::vector<std::string>& stores,
    std::size_t limit) {
  std::pair<std::vector<DigestMail::Item>, std::int64_t> out{{}, 0};
  // No levels file and no default: no item has a minimum above 0.
  if (levels.size() == 0 && levels.trivial()) return out;
  // The inventory a page at a time (once per digest, on the db strand).
  const auto scan = [&](std::optional<std::string> store) -> Status {
    InventoryQuery q;
    q.store = std::move(store);
    q.limit = 1000;
    while (true) {
      auto page = storage.list_inventory(q);
      if (!page) return page.error();
      for (const auto& row : *page) {
        const std::int64_t minimum = levels.minimum_of(row.store, row.item);
        if (row.count <= 0 || row.count >= minimum) continue;
        ++out.second;
        if (out.first.size() < limit) out.first.push_back({row.store, row.item, row.count, minimum});
      }
      if (page->size() < static_cast<std::size_t>(q.limit)) return {};
      q.after = std::make_pair(page->back().store, page->back().item);
    }
  };
  if (stores.empty()) {
    if (auto st = scan(std::nullopt); !st.ok()) return st.error();
  } else {
    for (const auto& s : stores) {
      if (auto st = scan(s); !st.ok()) return st.error();
    }
  }
  return out;
}

DigestStageOptions DigestStageOptions::from(const Config& config) {
  DigestStageOptions o;
  o.subscriptions = config.alerts.subscriptions;
  o.expect = ExpectStageOptions::from(config);
  o.sender = config.alerts.from;
  o.language = config.alerts.language;
  o.default_minimum = config.alerts.default_minimum;
  o.transfer_keep_days = config.alerts.transfer_keep_days;
  return o;
}

DigestStage::DigestStage(Storage& storage, const Clock& clock, DigestStageOptions options)
    : storage_(storage), clock_(clock), options_(std::move(options)) {}

std::optional<TimePoint> DigestStage::next_due() const {
  std::optional<TimePoint> next;
  const TimePoint now = clock_.now();
  for (const auto& sub : options_.subscriptions) {
    if (!sub.digest_schedule) continue;
    const TimePoint t = sub.digest_schedule->next_after(now);
    if (!next || t < *next) next = t;
  }
  return next;
}

Result<DigestMail> DigestStage::digest_for(const Subscription& sub, TimePoint from, TimePoint to) {
  const TimeZone& zone = options_.expect.zone;
  const auto local = [&zone](TimePoint t) { return LocalTime{t, zone.offset_at(t)}; };
  DigestMail d;
  d.every = sub.digest_schedule ? every_name(*sub.digest_schedule) : "daily";
  d.from = local(from);
  d.to = local(to);
  d.zone = zone.name();

  // Out of stock now: the stores' counts, then the rows at 0, page by page.
  auto stores = storage_.list_stores(kMaxStores);
  if (!stores) return stores.error();
  for (const StoreSummary& s : *stores) {
    if (!in(sub.stores, s.store) || s.out_of_stock == 0) continue;
    d.out_of_stock_total += s.out_of_stock;
    if (d.out_of_stock.size() >= DigestMail::kMaxListed) continue;
    InventoryQuery q;
    q.store = s.store;
    q.out_of_stock_only = true;
    q.limit = static_cast<int>(DigestMail::kMaxListed - d.out_of_stock.size());
    auto rows = storage_.list_inventory(q);
    if (!rows) return rows.error();
    for (const auto& r : *rows) d.out_of_stock.push_back({r.store, r.item, r.count, 0});
  }
  // The minimum levels, read once: for the items below them and for the
  // transfers below.
  auto lines = storage_.levels();
  if (!lines) return lines.error();
  const MinimumLevels levels(*lines, options_.default_minimum);
  auto below = below_minimum_now(storage_, levels, sub.stores, DigestMail::kMaxListed);
  if (!below) return below.error();
  d.below_minimum = std::move(below->first);
  d.below_minimum_total = below->second;

  auto reports = storage_.store_reports(kMaxStores);
  if (!reports) return reports.error();
  for (const StoreReport& r : *reports) {
    if (in(sub.stores, r.store) && r.received_at > from && r.received_at <= to) {
      d.received.push_back({r.store, local(r.received_at), false});
    }
  }
  auto missing = ExpectStage::missing_now(storage_, options_.expect, to);
  if (!missing) return missing.error();
  for (const MissingReport& m : *missing) {
    if (in(sub.stores, m.store)) {
      d.missing.push_back({m.store, local(m.due), m.rule && m.rule->day_of_month > 0});
    }
  }
  auto changes = storage_.largest_changes(from, to, sub.stores, DigestMail::kMaxChanges);
  if (!changes) return changes.error();
  d.changes = std::move(*changes);
  // A transfer for each item listed short, as its alert would suggest.
  for (const auto* list : {&d.out_of_stock, &d.below_minimum}) {
    for (const auto& i : *list) {
      auto t = suggest_transfer(storage_, levels, i.store, i.item, i.count,
                                options_.transfer_keep_days);
      if (!t) return t.error();
      if (*t) {
        d.transfers.push_back({(*t)->to, (*t)->item, (*t)->from, (*t)->quantity, (*t)->to_count,
                               (*t)->from_count});
      }
    }
  }
  return d;
}

Result<DigestStep> DigestStage::process_due() {
  DigestStep step;
  const TimePoint now = clock_.now();
  for (const Subscription& sub : options_.subscriptions) {
    if (!sub.digest_schedule) continue;
    const TimePoint at = sub.digest_schedule->latest_at_or_before(now);
    const std::string name = mark_name(sub);
    auto mark = storage_.schedule_mark(name);
    if (!mark) return mark.error();
    if (!*mark) {
      // A new schedule: the first digest goes out at its next time.
      auto noted = storage_.commit_schedule(name, at, {});
      if (!noted) return noted.error();
      continue;
    }
    if (**mark >= at) continue;  // handled (or the clock went back)

    auto digest = digest_for(sub, **mark, at);
    if (!digest) return digest.error();
    std::vector<OutboxMessage> messages;
    if (!digest->quiet() || sub.digest_quiet) {
      const std::string payload = encode_digest(*digest);
      // The subscription in the Message-ID, briefly: two digests at one
      // time to one address (different stores) are two messages.
      Sha256 h;
      h.update(name);
      const std::string kind = "digest-" + h.hex().substr(0, 12);
      for (const Recipient& r : recipients_of(sub, options_.language)) {
        messages.push_back(queued_message(r, options_.sender, event_name(EventKind::kDigest), payload,
                                          kind, to_unix_ms(at), now));
      }
    }
    auto done = storage_.commit_schedule(name, at, messages);
    if (!done) return done.error();
    if (*done) {
      step.queued += messages.size();
      ++step.digests;
      if (digest->quiet()) ++step.quiet;
      if (!messages.empty()) ++step.sent;
    }
  }
  return step;
}

}  // namespace stockwatch

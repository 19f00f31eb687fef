#include "pipeline/template_stage.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "notify/message.hpp"
#include "notify/template_mail.hpp"
#include "pipeline/template_source.hpp"
#include "report/template/template_writer.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

namespace {
constexpr int kMaxStores = 100000;
}  // namespace

TemplateStageOptions TemplateStageOptions::from(const Config& config) {
  TemplateStageOptions o;
  o.schedule = config.templates.schedule;
  o.language = config.templates.language;
  o.sender = config.alerts.from;
  o.subscriptions = config.alerts.subscriptions;
  o.aliases = config.report.aliases;
  const auto scratch = config.storage.scratch_dir();
  o.tmpdir = scratch.empty() ? std::filesystem::path(".") : scratch;
  return o;
}

TemplateStage::TemplateStage(Storage& storage, const Clock& clock, TemplateStageOptions options)
    : storage_(storage), clock_(clock), options_(std::move(options)) {}

std::optional<TimePoint> TemplateStage::next_due() const {
  if (!options_.schedule) return std::nullopt;
  return options_.schedule->next_after(clock_.now());
}

Result<TemplateStep> TemplateStage::process_due() {
  TemplateStep step;
  if (!options_.schedule) return step;
  const TimePoint now = clock_.now();
  const TimePoint at = options_.schedule->latest_at_or_before(now);
  // A changed schedule is a new one: its own mark.
  const std::string name = "templates " + options_.schedule->to_string();
  auto mark = storage_.schedule_mark(name);
  if (!mark) return mark.error();
  if (!*mark) {
    auto noted = storage_.commit_schedule(name, at, {});
    if (!noted) return noted.error();
    return step;
  }
  if (**mark >= at) return step;

  // Which addresses get which store's sheet, each pair once, in order.
  auto stores = storage_.list_stores(kMaxStores);
  if (!stores) return stores.error();
  std::map<std::string, std::vector<std::string>> to;  // store -> addresses
  const auto add = [&to](const std::string& store, const std::string& address) {
    auto& list = to[store];
    if (std::find(list.begin(), list.end(), address) == list.end()) list.push_back(address);
  };
  for (const Subscription& sub : options_.subscriptions) {
    for (const std::string& address : sub.emails) {
      if (sub.stores.empty()) {
        for (const StoreSummary& s : *stores) add(s.store, address);
        continue;
      }
      for (const std::string& store : sub.stores) {
        const bool known = std::any_of(stores->begin(), stores->end(),
                                       [&store](const StoreSummary& s) { return s.store == store; });
        if (known) {
          add(store, address);
        } else if (std::find(step.skipped_stores.begin(), step.skipped_stores.end(), store) ==
                   step.skipped_stores.end()) {
          step.skipped_stores.push_back(store);
        }
      }
    }
  }

  const Catalog& catalog = catalog_for(options_.language);
  const TemplateHeaders headers = template_headers(catalog, options_.aliases);
  std::vector<OutboxMessage> messages;
  for (const auto& [store, addresses] : to) {
    auto sheet = template_sheet_of(storage_, store);
    if (!sheet) return sheet.error();
    auto bytes = template_bytes(*sheet, catalog, options_.aliases, options_.tmpdir);
    if (!bytes) return bytes.error();
    TemplateMail mail{sheet->store, static_cast<std::int64_t>(sheet->items.size()), at,
                      headers.count, headers.last_count, std::move(*bytes)};
    const std::string payload = encode_template_mail(mail);
    for (const std::string& address : addresses) {
      OutboxMessage m;
      m.message_id = make_message_id(std::string(kTemplateEvent) + "-" + store, to_unix_ms(at),
                                     address, options_.sender);
      m.event = std::string(kTemplateEvent);
      m.channel = "email";
      m.sender = options_.sender;
      m.recipient = address;
      m.language = options_.language;
      m.payload = payload;
      m.created_at = now;
      m.next_attempt_at = now;
      messages.push_back(std::move(m));
    }
  }
  auto done = storage_.commit_schedule(name, at, messages);
  if (!done) return done.error();
  if (*done) {
    step.handled = at;
    step.queued = messages.size();
  }
  return step;
}

}  // namespace stockwatch

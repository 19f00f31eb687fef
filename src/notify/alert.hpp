// An alert as the outbox keeps it: the event data of one message (what
// happened, to which items, in which report), and its rendering into text
// for people, in the language of a catalog, when it is sent or listed.
//
// Contract:
// - The checker builds an Alert and stores encode_alert() as the outbox
//   row's payload; the mailer renders it with render_email() at each
//   attempt. The rendering depends only on the row (payload, language,
//   sender, recipient, Message-ID, created_at), so every retry sends the
//   same bytes with the same Message-ID.
// - A row queued by schema 3 and older has no payload: its `data` is the
//   email as it was rendered then, sent as it is, and its `subject` is
//   listed as it is.
// - Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "pipeline/event.hpp"
#include "store/storage.hpp"
#include "text/catalog.hpp"
#include "text/html_escape.hpp"

namespace stockwatch {

struct AlertItem {
  std::string store;
  std::string item;
  std::optional<std::int64_t> old_count;
  std::int64_t new_count = 0;
  std::optional<std::int64_t> minimum;  // the minimum level it was judged by, when set
  // running_out: the use rate and the predicted day (pipeline/usage.hpp).
  std::optional<double> daily_use;
  std::optional<std::int64_t> runs_out_on;
  // out_of_stock (and below minimum): a store that can spare some, and how much.
  std::string transfer_from;
  std::int64_t transfer_quantity = 0;
  std::int64_t transfer_from_count = 0;
};

struct Alert {
  EventKind event = EventKind::kOutOfStock;
  std::string subject_prefix;   // alerts.subject when it was queued
  bool per_item = false;        // group = "item": one item, the prefix alone as subject
  std::int64_t report_id = 0;
  std::string report_path;
  TimePoint report_time{};      // loaded (changes) or received (rejection)
  // Change events: the items listed, and the count and stores of all of them.
  std::vector<AlertItem> items;
  std::int64_t total = 0;
  std::int64_t stores = 0;      // distinct stores (at most kMaxStores)
  bool many_stores = false;     // more than kMaxStores
  // report_rejected: the problems in their stored form, or their text.
  std::string problems;
  std::string problems_text;
  // still_out: the reminder's period in days (alerts.still_out_every_days).
  std::int64_t every_days = 0;

  static constexpr std::int64_t kMaxStores = 1000;
};

// The payload: versioned JSON ({"v":1,"event":"out_of_stock",...}).
[[nodiscard]] std::string encode_alert(const Alert& alert);
[[nodiscard]] Result<Alert> decode_alert(std::string_view payload);

struct RenderedText {
  std::string subject;
  std::string body;   // '\n' line ends
};
[[nodiscard]] RenderedText render_alert(const Alert& alert, const Catalog& catalog);
// The HTML part of the email: the summary, then a table per store (item,
// count, minimum, previous count, last report); a rejection's text as it
// is. Every value from a report is escaped.
[[nodiscard]] std::string render_alert_html(const Alert& alert, const Catalog& catalog,
                                            const RenderedText& text);

// The subject and body of an outbox message of any event (an alert, a
// missing report, a digest, a mail reply, a sheet), in its language: what
// every channel sends. kInvalidInput for a row with no payload, kCorrupt
// for one that cannot be read.
[[nodiscard]] Result<RenderedText> render_outbox_text(const OutboxMessage& message);
// The subject of an outbox message, for listings ("" when its payload
// cannot be read).
[[nodiscard]] std::string outbox_subject(const OutboxMessage& message);
// The email of an outbox message (RFC 5322, CRLF line ends), as the mailer
// sends it: an alert as multipart/alternative (the plain text and the HTML
// table); a sheet with its workbook attached; a mail reply with its thread's
// headers; the rest as plain text.
[[nodiscard]] Result<std::string> render_email(const OutboxMessage& message);

}  // namespace stockwatch

// A missing report as the outbox keeps it (event "report_missing"): which
// store, which deadline it missed, when it last reported, and whether this
// is the escalation; rendered in the row's language when it is sent
// (docs/alerts.md#missing-reports).
//
// Contract:
// - The expect stage (pipeline/expect_stage.hpp) stores
//   encode_report_missing() as the row's payload. The payload carries the
//   offsets of [alerts] timezone at the times it names, so the rendering
//   depends only on the row: every attempt sends the same bytes.
// - A payload that cannot be read is kCorrupt.
// - Pure functions, safe from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "notify/alert.hpp"
#include "store/storage.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

struct ReportMissingMail {
  std::string store;
  TimePoint due{};                           // the deadline missed
  std::chrono::seconds due_offset{0};        // of the time zone, at `due`
  std::optional<TimePoint> last_report;      // the store's newest loaded report, if any
  std::chrono::seconds last_offset{0};
  std::string zone;                          // the time zone's name
  int within_days = 0;                       // the rule: one of these two
  int day_of_month = 0;
  bool escalated = false;                    // sent again, to every-store subscriptions
  int days_late = 0;                         // whole days past the deadline when queued
};

[[nodiscard]] std::string encode_report_missing(const ReportMissingMail& mail);
[[nodiscard]] Result<ReportMissingMail> decode_report_missing(std::string_view payload);
[[nodiscard]] RenderedText render_report_missing(const ReportMissingMail& mail, const Catalog& catalog);

// "5 December 2026" / "5 Desember 2026", with ", 14:32" when `with_time`:
// a wall-clock time (sys_seconds read as local) in the catalog's words.
[[nodiscard]] std::string local_date_text(std::chrono::sys_seconds local, const Catalog& catalog,
                                          bool with_time);

}  // namespace stockwatch

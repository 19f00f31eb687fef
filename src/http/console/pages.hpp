// The web console's pages as HTML, in the reader's language: the layout
// around every page, each page's body, and the page response with the
// console's security headers.
//
// Contract:
// - Every value from a report, an account or a request goes through
//   html.hpp (escaped); texts come from the catalog (text/catalog.hpp).
// - No inline script or style: the only style sheet is /_console/style.css
//   (style_sheet()), and the Content-Security-Policy of page_response()
//   allows nothing else.
// - Times are shown in the process's local time zone ([console] timezone
//   sets it at start); counts as their language writes them (1,234 in
//   English, 1.234 in Indonesian).
// - Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "http/api/http_routes.hpp"
#include "http/console/html.hpp"
#include "http/http_server.hpp"
#include "store/account_store.hpp"
#include "store/storage.hpp"
#include "text/catalog.hpp"

namespace stockwatch::console {

// Who reads the page, and in which language.
struct View {
  const Catalog* text = &english();
  std::optional<Account> account;
  std::string csrf;          // the session's token, for the forms
  std::string path;          // the page's own path, for the language switch to come back to

  [[nodiscard]] std::string t(std::string_view key) const { return std::string(text->text(key)); }
  [[nodiscard]] std::string f(std::string_view key, std::initializer_list<TextArg> args) const {
    return text->format(key, args);
  }
  [[nodiscard]] std::string n(std::string_view key, std::int64_t count) const;
};

[[nodiscard]] std::string format_count(std::int64_t n, std::string_view language);
[[nodiscard]] std::string format_local_time(TimePoint t);

// A whole page: the layout (header, navigation, language switch, sign-out)
// around `body`.
[[nodiscard]] Markup layout(const View& v, std::string_view title, const Markup& body,
                            std::string_view active = "");
// An HTML response with the console's headers (CSP, no caching, no
// framing, no referrer).
[[nodiscard]] http::Response page_response(unsigned status, const Markup& page);
// A 303 to `location` (a path of this site).
[[nodiscard]] http::Response redirect(std::string_view location);
[[nodiscard]] std::string_view style_sheet();

[[nodiscard]] Markup sign_in_page(const View& v, std::string_view message, std::string_view name,
                                  bool no_owner);
[[nodiscard]] Markup setup_page(const View& v, std::string_view token, std::string_view message);
[[nodiscard]] Markup message_page(const View& v, std::string_view title, std::string_view message);

struct OverviewData {
  std::vector<StoreOverview> stores;
  std::vector<InventoryRow> out_of_stock;   // the first ones
  bool more_out_of_stock = false;
  int quiet_days = 35;
  TimePoint now{};
  Markup forecast;                          // running out soon, transfers (forecast_pages.hpp)
};
[[nodiscard]] Markup overview_page(const View& v, const OverviewData& d);

// One file's outcome on the upload page.
struct UploadOutcome {
  std::string file;                          // as the browser named it
  std::optional<ReportRecord> report;        // the ledger row, when it came
  std::vector<std::string> problems;         // a rejected report's, rendered
  std::string refusal;                       // why it was not placed (then no report)
  int waited_s = 0;                          // placed but no ledger row within this long
  std::vector<ChangeRecord> events;          // a loaded report's alerting changes (the first ones)
  bool more_events = false;                  // it raised more than `events`
};
[[nodiscard]] Markup upload_page(const View& v, const std::vector<UploadOutcome>& outcomes,
                                 std::string_view message);

// `mails`: the entries that came by email (Storage::report_mails), shown
// with their sender; the detail page adds the Message-ID.
[[nodiscard]] Markup reports_page(const View& v, const std::vector<ReportRecord>& reports,
                                  std::optional<std::int64_t> older,
                                  const std::vector<MailSource>& mails = {});
[[nodiscard]] Markup report_page(const View& v, const ReportRecord& r,
                                 const std::vector<std::string>& problems, bool downloadable,
                                 const std::optional<MailSource>& mail = std::nullopt);

struct InventoryView {
  std::vector<std::string> stores;          // the stores the reader may pick
  std::optional<std::string> store;         // the one picked (a manager always has one)
  bool out_of_stock_only = false;
  std::optional<std::string> item;          // search: items whose name holds this text
  std::vector<InventoryRow> rows;
  std::optional<std::pair<std::string, std::string>> next;   // the next page starts after this
  std::int64_t next_value = 0;              // and, sorted by count or last change, its value
  bool by_cover = false;                    // sorted by days of cover (one page, in stock only)
  InventoryOrder order = InventoryOrder::kStoreItem;   // the other sorts
  std::vector<Forecast> forecasts;          // beside rows (pipeline/usage.hpp); may be empty
};
// The name of an inventory order in a page's address ("item", "count",
// "changed"; "" for store and item), and the order of such a name (nullopt:
// not one of them).
[[nodiscard]] std::string_view inventory_sort_name(InventoryOrder order);
[[nodiscard]] std::optional<InventoryOrder> inventory_sort_of(std::string_view name);
// The query string of an inventory view ("store=...&out=1"), encoded.
[[nodiscard]] std::string inventory_query(const InventoryView& iv);
[[nodiscard]] Markup inventory_page(const View& v, const InventoryView& iv);
// The rows as CSV (store,item,count,updated_at,report_id): quoted where
// needed, and a name a spreadsheet would take for a formula (= + - @)
// prefixed with an apostrophe.
[[nodiscard]] std::string inventory_csv_rows(const std::vector<InventoryRow>& rows);

struct AlertsView {
  std::optional<OutboxState> state;          // the filter; nullopt: every state
  std::vector<OutboxMessage> messages;
  std::optional<std::int64_t> older;
  std::string notice;                        // after a retry
};
[[nodiscard]] Markup alerts_page(const View& v, const AlertsView& a);

// One outbox message as its channel sends it: an email's subject,
// recipients and plain text; a webhook's JSON; a chat message's text.
struct SentMessageView {
  OutboxMessage message;
  std::string subject;
  std::string to;
  std::string text;
  std::vector<std::string> files;            // an email's attached files, by name
  std::string error;                         // why it cannot be shown (then no text)
};
[[nodiscard]] Markup message_page(const View& v, const SentMessageView& m);

struct StatusView {
  DaemonHealth health;
  std::optional<OutboxCounts> outbox;        // nullopt: the database did not answer
  std::string database_error;
  std::vector<SignInFailure> failures;
};
[[nodiscard]] Markup status_page(const View& v, const StatusView& s);

// A rejected report's problems in the reader's language, one per line.
[[nodiscard]] std::vector<std::string> problem_lines(const ReportRecord& r, const Catalog& text);

}  // namespace stockwatch::console

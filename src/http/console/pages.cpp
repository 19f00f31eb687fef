#include "http/console/pages.hpp"

#include <ctime>

#include "http/console/forecast_pages.hpp"
#include "http/s3/s3_protocol.hpp"
#include "inbox/arrivals.hpp"
#include "notify/alert.hpp"
#include "notify/channel.hpp"
#include "report/report_problem.hpp"

namespace stockwatch::console {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kStyle = R"CSS(
:root { --fg: #1d2327; --muted: #5b6770; --line: #d5dadf; --bg: #f6f7f8; --accent: #0b5cad;
        --bad: #a4161a; --bad-bg: #fdecea; --ok: #1b6b34; --ok-bg: #e8f5ec; --warn-bg: #fff6db; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); line-height: 1.45; }
body { margin: 0; }
a { color: var(--accent); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: #fff; padding: 0.5rem; z-index: 2; }
header.top { background: #13293d; color: #fff; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap;
             align-items: center; gap: 0.5rem 1.25rem; }
header.top .brand { font-weight: 700; font-size: 1.1rem; color: #fff; text-decoration: none; }
header.top nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0; padding: 0; }
header.top nav a { color: #dfe9f3; text-decoration: none; padding: 0.25rem 0; display: inline-block; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
header.top .who { margin-left: auto; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center;
                  font-size: 0.9rem; color: #dfe9f3; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #fff; border: 1px solid #8aa4bd; border-radius: 4px;
                    padding: 0.2rem 0.6rem; font: inherit; cursor: pointer; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
.totals { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 0 0 1rem; padding: 0; list-style: none; }
.totals li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.9rem;
             font-size: 1.05rem; }
.totals li.bad { border-color: var(--bad); background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.table-wrap { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.45rem 0.7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f4; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: none; }
.name { white-space: pre-wrap; overflow-wrap: anywhere; }
td.name { min-width: 7rem; }
.badge { display: inline-block; border-radius: 999px; padding: 0.05rem 0.6rem; font-size: 0.85rem; font-weight: 600; }
.badge.loaded { background: var(--ok-bg); color: var(--ok); }
.badge.rejected { background: var(--bad-bg); color: var(--bad); }
.badge.duplicate { background: #eef1f4; color: var(--muted); }
.quiet { color: var(--bad); }
.muted { color: var(--muted); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 0 0 1rem; }
.card.ok { border-color: var(--ok); background: var(--ok-bg); }
.card.bad { border-color: var(--bad); background: var(--bad-bg); }
.card.warn { background: var(--warn-bg); }
.card h2 { margin-top: 0; }
.problems { margin: 0.5rem 0 0; padding-left: 1.25rem; }
.problems li { white-space: pre-wrap; overflow-wrap: anywhere; }
form.stacked { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; max-width: 28rem; }
form.stacked.wide { max-width: 40rem; }
form.stacked label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
form.stacked label:first-child { margin-top: 0; }
input[type=text], input[type=password], input[type=file] { width: 100%; font: inherit; padding: 0.5rem;
  border: 1px solid #9aa5ae; border-radius: 4px; background: #fff; }
button.primary { margin-top: 1rem; background: var(--accent); color: #fff; border: none; border-radius: 4px;
                 padding: 0.6rem 1.2rem; font: inherit; font-weight: 600; cursor: pointer; }
:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0 0; }
.pager { margin: 1rem 0; }
td.when { white-space: nowrap; }
form.inline { display: inline; margin-left: 0.5rem; }
form.inline button { font: inherit; font-size: 0.85rem; padding: 0.1rem 0.5rem; border-radius: 4px;
                     border: 1px solid var(--accent); color: var(--accent); background: #fff; cursor: pointer; }
.badge.queued { background: var(--warn-bg); color: #7a5b00; }
.badge.sent { background: var(--ok-bg); color: var(--ok); }
.badge.dead { background: var(--bad-bg); color: var(--bad); }
.filters-line a[aria-current="page"] { font-weight: 700; }
form.filters { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 0.75rem; margin: 0 0 0.75rem;
               background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.8rem; }
form.filters label { font-weight: 600; }
form.filters select { max-width: 100%; min-width: 0; flex: 1 1 10rem; }
form.filters input[type=search] { font: inherit; padding: 0.35rem 0.6rem; border-radius: 4px;
                                  border: 1px solid #9aa5ae; min-width: 0; flex: 1 1 10rem; }
form.filters label.check { font-weight: normal; }
form.filters select, form.filters button { font: inherit; padding: 0.35rem 0.6rem; border-radius: 4px;
                                           border: 1px solid #9aa5ae; background: #fff; }
tr.zero td { background: var(--bad-bg); }
.drop { border: 2px dashed #9aa5ae; border-radius: 6px; padding: 1rem; margin: 0 0 0.5rem; text-align: center;
        color: var(--muted); }
.drop p { margin: 0; }
.drop.over { border-color: var(--accent); background: #e9f1fa; color: var(--fg); }
.drop ul.chosen { list-style: none; margin: 0.5rem 0 0; padding: 0; color: var(--fg); text-align: left; }
.drop ul.chosen li { white-space: pre-wrap; overflow-wrap: anywhere; }
.progress progress { width: 100%; height: 1.2rem; margin-top: 0.75rem; }
.progress p { margin: 0.25rem 0 0; font-size: 0.9rem; }
ul.events { margin: 0.25rem 0 0; padding-left: 1.25rem; }
ul.events li { white-space: pre-wrap; overflow-wrap: anywhere; }
p.events { margin: 0.5rem 0 0; font-weight: 600; }
pre.sent { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 0.5rem 0 1rem;
           white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.9rem; }
@media (max-width: 40rem) {
  main { padding: 0.75rem; }
  header.top .who { margin-left: 0; width: 100%; }
  th, td { padding: 0.4rem 0.5rem; }
  h1 { font-size: 1.3rem; }
}
)CSS";

std::string status_word(const View& v, ReportStatus s) {
  return v.t(std::string("console.status.") + to_string(s));
}

Markup status_badge(const View& v, ReportStatus s) {
  return html("<span class=\"badge {}\">{}</span>", {to_string(s), status_word(v, s)});
}

// How a report arrived (ReportRecord::arrived_by), in words; `by_mail`:
// the ledger knows the mail it came in (older entries have no arrived_by).
std::string arrival_word(const View& v, std::string_view arrived_by, bool by_mail = false) {
  if (by_mail) arrived_by = Arrivals::kEmail;
  for (const char* known : {Arrivals::kFolder, Arrivals::kS3, Arrivals::kBrowser, Arrivals::kEmail}) {
    if (arrived_by == known) return v.t(std::string("console.arrived.") + known);
  }
  return v.t("console.arrived.unknown");
}

Markup field_csrf(const View& v) {
  return html("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", {v.csrf});
}

std::string stores_list(const std::vector<std::string>& stores) {
  std::string out;
  for (const auto& s : stores) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string View::n(std::string_view key, std::int64_t count) const {
  const std::string lang(text->language());
  const std::string shown = format_count(count, lang);
  return fill_template(text->text(key, count), std::initializer_list<TextArg>{{"n", shown}});
}

std::string format_count(std::int64_t n, std::string_view language) {
  const char sep = language == "id" ? '.' : ',';
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  const std::size_t first = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out += digits.substr(0, first);
  for (std::size_t i = first; i < digits.size(); i += 3) {
    out += sep;
    out += digits.substr(i, 3);
  }
  return n < 0 ? "-" + out : out;
}

std::string format_local_time(TimePoint t) {
  if (t.time_since_epoch().count() == 0) return {};
  const std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(t));
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %Z", &tm);
  return buf;
}

std::string_view style_sheet() {
  static const std::string sheet = std::string(kStyle) + std::string(forecast_style());
  return sheet;
}

Markup layout(const View& v, std::string_view title, const Markup& body, std::string_view active) {
  Markup nav;
  Markup who;
  if (v.account) {
    Markup items;
    const std::pair<const char*, const char*> links[] = {
        {"overview", "/_console/"}, {"inventory", "/_console/inventory"},
        {"upload", "/_console/upload"}, {"reports", "/_console/reports"},
        {"alerts", "/_console/alerts"}, {"status", "/_console/status"}};
    for (const auto& [key, href] : links) {
      if (v.account->role != AccountRole::kOwner && std::string_view(key) == "status") {
        continue;   // the owner's page
      }
      items += html("<li><a href=\"{}\"{}>{}</a></li>",
                    {href, Markup{active == key ? " aria-current=\"page\"" : ""},
                     v.t(std::string("console.nav.") + key)});
    }
    nav = html("<nav aria-label=\"{}\"><ul>{}</ul></nav>", {v.t("console.nav.main"), items});
    const auto& a = *v.account;
    const std::string role = a.role == AccountRole::kOwner
                                 ? v.t("console.role.owner")
                                 : v.f("console.role.manager", {{"stores", stores_list(a.stores)}});
    who = html(
        "<div class=\"who\"><span>{}</span>"
        "<form method=\"post\" action=\"/_console/language\">{}"
        "<input type=\"hidden\" name=\"to\" value=\"{}\">"
        "<input type=\"hidden\" name=\"back\" value=\"{}\">"
        "<button type=\"submit\" lang=\"{}\">{}</button></form>"
        "<form method=\"post\" action=\"/_console/sign-out\">{}"
        "<button type=\"submit\">{}</button></form></div>",
        {v.f("console.signed_in_as", {{"name", a.name}, {"role", role}}), field_csrf(v),
         v.text->language() == "id" ? "en" : "id", v.path, v.text->language() == "id" ? "en" : "id",
         v.t("console.language.switch"), field_csrf(v), v.t("console.sign_out")});
  }
  return html(
      "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>{} · stockwatch</title>"
      "<link rel=\"stylesheet\" href=\"/_console/style.css\">"
      "<script src=\"/_console/console.js\" defer></script></head><body>"
      "<a class=\"skip\" href=\"#main\">{}</a>"
      "<header class=\"top\"><a class=\"brand\" href=\"/_console/\">stockwatch</a>{}{}</header>"
      "<main id=\"main\"><h1>{}</h1>{}</main></body></html>\n",
      {v.text->language(), title, v.t("console.skip"), nav, who, title, body});
}

http::Response page_response(unsigned status, const Markup& page) {
  auto res = http::make_response(status, page.html, "text/html; charset=utf-8");
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
          "img-src 'self'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'");
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "same-origin");
  return res;
}

http::Response redirect(std::string_view location) {
  auto res = http::make_response(303, "See " + std::string(location) + "\n", "text/plain; charset=utf-8");
  res.set(bhttp::field::location, std::string(location));
  res.set(bhttp::field::cache_control, "no-store");
  res.set("Referrer-Policy", "same-origin");
  return res;
}

Markup sign_in_page(const View& v, std::string_view message, std::string_view name, bool no_owner) {
  Markup body;
  if (!message.empty()) body += html("<div class=\"card bad\" role=\"alert\">{}</div>", {message});
  if (no_owner) body += html("<div class=\"card warn\">{}</div>", {v.t("console.sign_in.no_owner")});
  body += html(
      "<form class=\"stacked\" method=\"post\" action=\"/_console/sign-in\">"
      "<label for=\"name\">{}</label>"
      "<input type=\"text\" id=\"name\" name=\"name\" value=\"{}\" autocomplete=\"username\" required autofocus>"
      "<label for=\"password\">{}</label>"
      "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>"
      "<button class=\"primary\" type=\"submit\">{}</button></form>",
      {v.t("console.sign_in.name"), name, v.t("console.sign_in.password"),
       v.t("console.sign_in.submit")});
  return layout(v, v.t("console.sign_in.title"), body);
}

Markup setup_page(const View& v, std::string_view token, std::string_view message) {
  Markup body = html("<p>{}</p>", {v.t("console.setup.intro")});
  if (!message.empty()) body += html("<div class=\"card bad\" role=\"alert\">{}</div>", {message});
  body += html(
      "<form class=\"stacked\" method=\"post\" action=\"/_console/setup\">"
      "<input type=\"hidden\" name=\"token\" value=\"{}\">"
      "<label for=\"name\">{}</label>"
      "<input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"username\" required autofocus>"
      "<label for=\"password\">{}</label>"
      "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>"
      "<label for=\"password2\">{}</label>"
      "<input type=\"password\" id=\"password2\" name=\"password2\" autocomplete=\"new-password\" required>"
      "<button class=\"primary\" type=\"submit\">{}</button></form>",
      {token, v.t("console.sign_in.name"), v.t("console.sign_in.password"),
       v.t("console.setup.password2"), v.t("console.setup.submit")});
  return layout(v, v.t("console.setup.title"), body);
}

Markup message_page(const View& v, std::string_view title, std::string_view message) {
  return layout(v, title,
                html("<p>{}</p><p><a href=\"/_console/\">{}</a></p>", {message, v.t("console.back")}));
}

Markup overview_page(const View& v, const OverviewData& d) {
  const std::string lang(v.text->language());
  std::int64_t out_total = 0;
  std::int64_t quiet = 0;
  const auto quiet_after = std::chrono::hours(24) * d.quiet_days;
  for (const auto& s : d.stores) {
    out_total += s.out_of_stock;
    if (d.now - s.last_report_at > quiet_after) ++quiet;
  }
  Markup body;
  if (d.stores.empty()) {
    body += html("<div class=\"card\"><p>{}</p><p><a href=\"/_console/upload\">{}</a></p></div>",
                 {v.t("console.overview.empty"), v.t("console.upload.title")});
    return layout(v, v.t("console.overview.title"), body, "overview");
  }
  body += html("<ul class=\"totals\"><li>{}</li><li{}>{}</li><li{}>{}</li></ul>",
               {v.n("console.overview.stores", static_cast<std::int64_t>(d.stores.size())),
                Markup{out_total > 0 ? " class=\"bad\"" : ""},
                v.n("console.overview.out_total", out_total),
                Markup{quiet > 0 ? " class=\"bad\"" : ""}, v.n("console.overview.quiet_total", quiet)});
  Markup rows;
  for (const auto& s : d.stores) {
    const bool is_quiet = d.now - s.last_report_at > quiet_after;
    Markup when = s.last_report_id
                      ? html("<a href=\"/_console/reports/{}\">{}</a>",
                             {s.last_report_id, format_local_time(s.last_report_at)})
                      : html("{}", {v.t("console.overview.never")});
    // How it came (not recorded for reports older than the ledger's column).
    if (s.last_report_id && !s.last_report_by.empty()) {
      when += html(" <span class=\"muted arrived\">{}</span>",
                   {v.f("console.overview.arrived", {{"how", arrival_word(v, s.last_report_by)}})});
    }
    if (is_quiet) {
      when += html(" <span class=\"quiet\">({})</span>",
                   {v.f("console.overview.quiet", {{"days", std::to_string(d.quiet_days)}})});
    }
    // This month's sheet: the store's items, to fill in and send back.
    const Markup sheet =
        html("<a class=\"sheet\" href=\"/_console/sheet?store={}\" download aria-label=\"{}\">{}</a>",
             {aws_uri_encode(s.store, false),
              v.f("console.overview.sheet_for", {{"store", s.store}}),
              v.t("console.overview.sheet_link")});
    rows += html("<tr><td class=\"name\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                  {name(s.store), when, format_count(s.out_of_stock, lang), sheet});
  }
  body += html(
      "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
      "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{}</tbody>"
      "</table></div>",
      {v.t("console.overview.store"), v.t("console.overview.last_report"), v.t("console.overview.out"),
       v.t("console.overview.sheet"), rows});
  body += html("<h2>{}</h2>", {v.t("console.overview.out_items")});
  if (d.out_of_stock.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.overview.none_out")});
  } else {
    Markup items;
    for (const auto& r : d.out_of_stock) {
      items += html(
          "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td>"
          "<td><a href=\"/_console/reports/{}\">{}</a></td></tr>",
          {name(r.store), name(r.item), r.report_id, format_local_time(r.updated_at)});
    }
    body += html(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
        "<th scope=\"col\">{}</th></tr></thead><tbody>{}</tbody></table></div>",
        {v.t("console.overview.store"), v.t("console.overview.item"), v.t("console.overview.since"),
         items});
    if (d.more_out_of_stock) {
      body += html("<p class=\"muted\">{}</p>",
                   {v.f("console.overview.more",
                        {{"n", format_count(static_cast<std::int64_t>(d.out_of_stock.size()), lang)}})});
    }
  }
  body += d.forecast;
  return layout(v, v.t("console.overview.title"), body, "overview");
}

namespace {
// The alerts a loaded report raised, one line each, as its mail reply
// words them.
Markup outcome_events(const View& v, const UploadOutcome& o) {
  if (o.events.empty()) return html("<p class=\"events\">{}</p>", {v.t("console.upload.no_alerts")});
  Markup items;
  for (const auto& e : o.events) {
    std::string key = "mail.reply.event." + std::string(e.event ? event_name(*e.event) : "other");
    if (!v.text->has(key) && !english().has(key)) key = "mail.reply.event.other";
    items += html("<li>{}</li>", {v.f(key, {{"store", e.store},
                                            {"item", e.item},
                                            {"count", format_count(e.new_count, v.text->language())}})});
  }
  if (o.more_events) items += html("<li>{}</li>", {v.t("console.upload.more_alerts")});
  return html("<p class=\"events\">{}</p><ul class=\"events\">{}</ul>",
              {v.t("console.upload.alerts"), items});
}
}  // namespace

Markup upload_page(const View& v, const std::vector<UploadOutcome>& outcomes, std::string_view message) {
  const std::string lang(v.text->language());
  Markup body;
  if (!message.empty()) body += html("<div class=\"card bad\" role=\"alert\">{}</div>", {message});
  if (!outcomes.empty()) {
    Markup results;
    for (const auto& o : outcomes) {
      if (!o.refusal.empty()) {
        results += html("<div class=\"card bad outcome\"><h2 class=\"name\">{}</h2><p>{}</p></div>",
                        {name(o.file), o.refusal});
        continue;
      }
      if (!o.report) {
        results += html("<div class=\"card warn outcome\"><h2 class=\"name\">{}</h2><p>{}</p></div>",
                        {name(o.file),
                         v.f("console.upload.waiting", {{"seconds", std::to_string(o.waited_s)}})});
        continue;
      }
      const auto& r = *o.report;
      const std::string id = std::to_string(r.id);
      if (r.status == ReportStatus::kLoaded) {
        results += html(
            "<div class=\"card ok outcome\"><h2 class=\"name\">{}</h2><p>{} "
            "<a href=\"/_console/reports/{}\">{}</a></p>{}</div>",
            {name(o.file),
             v.f("console.upload.loaded", {{"rows", format_count(r.rows, lang)},
                                           {"changes", format_count(r.changes, lang)},
                                           {"id", id}}),
             r.id, v.t("console.nav.reports"), outcome_events(v, o)});
      } else if (r.status == ReportStatus::kDuplicate) {
        const std::string dup = std::to_string(r.duplicate_of.value_or(0));
        results += html(
            "<div class=\"card outcome\"><h2 class=\"name\">{}</h2><p>{} "
            "<a href=\"/_console/reports/{}\">{}</a></p></div>",
            {name(o.file), v.f("console.upload.duplicate", {{"id", dup}}), r.duplicate_of.value_or(0),
             v.t("console.nav.reports")});
      } else {
        Markup items;
        for (const auto& p : o.problems) items += html("<li>{}</li>", {p});
        results += html(
            "<div class=\"card bad outcome\"><h2 class=\"name\">{}</h2><p>{}</p>"
            "<ul class=\"problems\">{}</ul></div>",
            {name(o.file), v.f("console.upload.rejected", {{"id", id}}), items});
      }
    }
    body += html("<section aria-labelledby=\"results\"><h2 id=\"results\">{}</h2>{}</section>",
                 {v.t("console.upload.results"), results});
  }
  // Without JavaScript a plain form; /_console/console.js shows the drop
  // zone and sends the files with a progress bar (the same POST).
  body += html(
      "<form class=\"stacked wide\" method=\"post\" action=\"/_console/upload\" "
      "enctype=\"multipart/form-data\" data-upload data-sending=\"{}\" data-waiting=\"{}\" "
      "data-failed=\"{}\">{}"
      "<label for=\"files\">{}</label>"
      "<div class=\"drop\" hidden><p>{}</p><ul class=\"chosen\"></ul></div>"
      "<input type=\"file\" id=\"files\" name=\"files\" accept=\".csv,.xlsx,.ods,text/csv\" multiple required>"
      "<p class=\"hint\">{}</p>"
      "<div class=\"progress\" hidden><progress max=\"100\" value=\"0\" aria-labelledby=\"progress-text\">"
      "</progress><p id=\"progress-text\" role=\"status\" aria-live=\"polite\"></p></div>"
      "<button class=\"primary\" type=\"submit\">{}</button></form>",
      {v.t("console.upload.sending"), v.t("console.upload.loading"), v.t("console.upload.send_failed"),
       field_csrf(v), v.t("console.upload.files"), v.t("console.upload.drop"), v.t("console.upload.hint"),
       v.t("console.upload.submit")});
  return layout(v, v.t("console.upload.title"), body, "upload");
}

Markup reports_page(const View& v, const std::vector<ReportRecord>& reports,
                    std::optional<std::int64_t> older, const std::vector<MailSource>& mails) {
  const std::string lang(v.text->language());
  Markup body;
  if (reports.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.reports.none")});
    return layout(v, v.t("console.reports.title"), body, "reports");
  }
  Markup rows;
  for (const auto& r : reports) {
    Markup status = status_badge(v, r.status);
    if (r.duplicate_of) {
      status += html(" <span class=\"muted\">{}</span>",
                     {v.f("console.reports.duplicate_of", {{"id", std::to_string(*r.duplicate_of)}})});
    }
    // Came by email: the attachment's name as sent (the path in the inbox
    // is on the report's page), the sender under it.
    Markup file = name(r.path);
    bool by_mail = false;
    for (const auto& m : mails) {
      if (m.report_id != r.id) continue;
      file = html("{}<br><span class=\"muted\">{}</span>",
                  {name(m.attachment), v.f("console.reports.by_email_from", {{"sender", m.sender}})});
      by_mail = true;
      break;
    }
    rows += html(
        "<tr><td><a href=\"/_console/reports/{}\">{}</a></td><td class=\"name\">{}</td><td>{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"arrived\">{}</td>"
        "<td class=\"when\">{}</td></tr>",
        {r.id, r.id, file, status, format_count(r.rows, lang), format_count(r.changes, lang),
         arrival_word(v, r.arrived_by, by_mail), format_local_time(r.received_at)});
  }
  body += html(
      "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
      "<th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>"
      "<th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{}</tbody></table></div>",
      {v.t("console.reports.id"), v.t("console.reports.file"), v.t("console.reports.status"),
       v.t("console.reports.rows"), v.t("console.reports.changes"), v.t("console.reports.arrived_by"),
       v.t("console.reports.received"), rows});
  if (older) {
    body += html("<p class=\"pager\"><a href=\"/_console/reports?before={}\">{}</a></p>",
                 {*older, v.t("console.reports.older")});
  }
  return layout(v, v.t("console.reports.title"), body, "reports");
}

Markup report_page(const View& v, const ReportRecord& r, const std::vector<std::string>& problems,
                   bool downloadable, const std::optional<MailSource>& mail) {
  const std::string lang(v.text->language());
  Markup body = html(
      "<div class=\"table-wrap\"><table><tbody>"
      "<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td>{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td>{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td>{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td>{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td class=\"arrived\">{}</td></tr>"
      "</tbody></table></div>",
      {v.t("console.reports.file"), name(r.path), v.t("console.reports.status"), status_badge(v, r.status),
       v.t("console.reports.rows"), format_count(r.rows, lang), v.t("console.reports.changes"),
       format_count(r.changes, lang), v.t("console.reports.received"), format_local_time(r.received_at),
       v.t("console.reports.arrived_by"), arrival_word(v, r.arrived_by, mail.has_value())});
  if (mail) {
    // Where it came from: the mail, as the sender's mail program shows it.
    body += html(
        "<h2>{}</h2><div class=\"table-wrap\"><table><tbody>"
        "<tr><th scope=\"row\">{}</th><td>{}</td></tr>"
        "<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>"
        "<tr><th scope=\"row\">{}</th><td class=\"name\"><code>{}</code></td></tr>"
        "</tbody></table></div>",
        {v.t("console.reports.by_email"), v.t("console.reports.sender"), mail->sender,
         v.t("console.reports.attachment"), mail->attachment, v.t("console.reports.message_id"),
         mail->message_id.empty() ? std::string("-") : "<" + mail->message_id + ">"});
  }
  if (r.duplicate_of) {
    body += html("<p><a href=\"/_console/reports/{}\">{}</a></p>",
                 {*r.duplicate_of,
                  v.f("console.reports.duplicate_of", {{"id", std::to_string(*r.duplicate_of)}})});
  }
  if (!problems.empty()) {
    Markup items;
    for (const auto& p : problems) items += html("<li>{}</li>", {p});
    body += html("<h2>{}</h2><div class=\"card bad\"><ul class=\"problems\">{}</ul></div>",
                 {v.t("console.reports.problems"), items});
  }
  if (downloadable) {
    body += html("<p><a href=\"/_console/reports/{}/original\" download>{}</a></p>",
                 {r.id, v.t("console.reports.download")});
  } else {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.reports.gone")});
  }
  return layout(v, v.f("console.reports.id", {}) + " " + std::to_string(r.id), body, "reports");
}

std::string_view inventory_sort_name(InventoryOrder order) {
  switch (order) {
    case InventoryOrder::kItem: return "item";
    case InventoryOrder::kCount: return "count";
    case InventoryOrder::kChanged: return "changed";
    case InventoryOrder::kStoreItem: break;
  }
  return "";
}

std::optional<InventoryOrder> inventory_sort_of(std::string_view name) {
  for (const auto o : {InventoryOrder::kStoreItem, InventoryOrder::kItem, InventoryOrder::kCount,
                       InventoryOrder::kChanged}) {
    if (inventory_sort_name(o) == name) return o;
  }
  return std::nullopt;
}

namespace {
// The choices of the inventory's "Sort by", the view's own selected.
Markup sort_options(const View& v, const InventoryView& iv) {
  Markup out;
  const auto option = [&](std::string_view value, bool selected, const char* label) {
    out += html("<option value=\"{}\"{}>{}</option>",
                {std::string(value), Markup{selected ? " selected" : ""}, v.t(label)});
  };
  option("", !iv.by_cover && iv.order == InventoryOrder::kStoreItem, "console.inventory.sort_name");
  option("item", !iv.by_cover && iv.order == InventoryOrder::kItem, "console.inventory.sort_item");
  option("count", !iv.by_cover && iv.order == InventoryOrder::kCount, "console.inventory.sort_count");
  option("changed", !iv.by_cover && iv.order == InventoryOrder::kChanged,
         "console.inventory.sort_changed");
  option("cover", iv.by_cover, "console.inventory.sort_cover");
  return out;
}
}  // namespace

std::string inventory_query(const InventoryView& iv) {
  std::string q;
  if (iv.store) q += "store=" + aws_uri_encode(*iv.store, false);
  if (iv.out_of_stock_only) q += std::string(q.empty() ? "" : "&") + "out=1";
  if (iv.by_cover) q += std::string(q.empty() ? "" : "&") + "sort=cover";
  if (const auto sort = inventory_sort_name(iv.order); !iv.by_cover && !sort.empty()) {
    q += std::string(q.empty() ? "" : "&") + "sort=" + std::string(sort);
  }
  if (iv.item) q += std::string(q.empty() ? "" : "&") + "q=" + aws_uri_encode(*iv.item, false);
  return q;
}

Markup inventory_page(const View& v, const InventoryView& iv) {
  const std::string lang(v.text->language());
  Markup options;
  if (v.account && v.account->role == AccountRole::kOwner) {
    options += html("<option value=\"\"{}>{}</option>",
                    {Markup{iv.store ? "" : " selected"}, v.t("console.inventory.all_stores")});
  }
  for (const auto& s : iv.stores) {
    options += html("<option value=\"{}\"{}>{}</option>",
                    {s, Markup{iv.store == s ? " selected" : ""}, s});
  }
  Markup body = html(
      "<form class=\"filters\" method=\"get\" action=\"/_console/inventory\">"
      "<label for=\"store\">{}</label><select id=\"store\" name=\"store\">{}</select>"
      "<label for=\"q\">{}</label><input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" "
      "maxlength=\"200\" placeholder=\"{}\">"
      "<label class=\"check\"><input type=\"checkbox\" name=\"out\" value=\"1\"{}> {}</label>"
      "<label for=\"sort\">{}</label><select id=\"sort\" name=\"sort\">{}</select>"
      "<button type=\"submit\">{}</button></form>",
      {v.t("console.inventory.store"), options, v.t("console.inventory.search"),
       iv.item.value_or(""), v.t("console.inventory.search_hint"),
       Markup{iv.out_of_stock_only ? " checked" : ""}, v.t("console.inventory.out_only"),
       v.t("console.inventory.sort"), sort_options(v, iv), v.t("console.inventory.show")});
  const std::string query = inventory_query(iv);
  body += html("<p><a href=\"/_console/inventory.csv{}{}\" download>{}</a></p>",
               {query.empty() ? "" : "?", query, v.t("console.inventory.csv")});
  if (iv.rows.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.inventory.none")});
    return layout(v, v.t("console.inventory.title"), body, "inventory");
  }
  Markup rows;
  for (std::size_t k = 0; k < iv.rows.size(); ++k) {
    const auto& r = iv.rows[k];
    const Forecast f = k < iv.forecasts.size() ? iv.forecasts[k] : Forecast{};
    const Markup changed = r.report_id ? html("<a href=\"/_console/reports/{}\">{}</a>",
                                              {r.report_id, format_local_time(r.updated_at)})
                                       : Markup{"-"};
    rows += html(
        "<tr{}><td class=\"name\">{}</td><td class=\"name\"><a href=\"{}\">{}</a></td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        {Markup{r.count == 0 ? " class=\"zero\"" : ""}, name(r.store), item_href(r.store, r.item),
         name(r.item), format_count(r.count, lang), format_decimal(f.daily_use, lang),
         format_decimal(f.days_of_cover, lang),
         f.runs_out_on ? iso_day(*f.runs_out_on) : std::string("-"), changed});
  }
  body += html(
      "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
      "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>"
      "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
      "</tr></thead><tbody>{}</tbody></table></div>",
      {v.t("console.inventory.store"), v.t("console.overview.item"), v.t("console.inventory.count"),
       v.t("console.item.daily_use"), v.t("console.item.days_of_cover"),
       v.t("console.item.runs_out"), v.t("console.inventory.changed"), rows});
  if (iv.next) {
    const bool valued = iv.order == InventoryOrder::kCount || iv.order == InventoryOrder::kChanged;
    body += html("<p class=\"pager\"><a href=\"/_console/inventory?{}{}after_store={}&amp;after_item={}{}\">{}</a></p>",
                 {query, Markup{query.empty() ? "" : "&amp;"}, aws_uri_encode(iv.next->first, false),
                  aws_uri_encode(iv.next->second, false),
                  valued ? "&after_value=" + std::to_string(iv.next_value) : std::string(),
                  v.t("console.inventory.next")});
  }
  return layout(v, v.t("console.inventory.title"), body, "inventory");
}

std::string inventory_csv_rows(const std::vector<InventoryRow>& rows) {
  const auto cell = [](std::string_view text) {
    std::string v(text);
    if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out;
  for (const auto& r : rows) {
    out += cell(r.store) + "," + cell(r.item) + "," + std::to_string(r.count) + "," +
           format_utc(r.updated_at, "%Y-%m-%dT%H:%M:%SZ") + "," + std::to_string(r.report_id) + "\r\n";
  }
  return out;
}

Markup alerts_page(const View& v, const AlertsView& a) {
  const std::string lang(v.text->language());
  Markup body;
  if (!a.notice.empty()) body += html("<div class=\"card ok\" role=\"status\">{}</div>", {a.notice});
  Markup filters = html("<a href=\"/_console/alerts\"{}>{}</a>",
                        {Markup{a.state ? "" : " aria-current=\"page\""}, v.t("console.alerts.all")});
  for (const OutboxState st : {OutboxState::kQueued, OutboxState::kDead, OutboxState::kSent}) {
    filters += html(" · <a href=\"/_console/alerts?state={}\"{}>{}</a>",
                    {to_string(st), Markup{a.state == st ? " aria-current=\"page\"" : ""},
                     v.t(std::string("console.state.") + to_string(st))});
  }
  body += html("<p class=\"filters-line\">{}</p>", {filters});
  if (a.messages.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.alerts.none")});
    return layout(v, v.t("console.alerts.title"), body, "alerts");
  }
  Markup rows;
  for (const auto& m : a.messages) {
    Markup state = html("<span class=\"badge {}\">{}</span>",
                        {to_string(m.state), v.t(std::string("console.state.") + to_string(m.state))});
    if (m.state == OutboxState::kDead && v.account->role == AccountRole::kOwner) {
      state += html(
          "<form class=\"inline\" method=\"post\" action=\"/_console/alerts/{}/retry\">"
          "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">{}</button></form>",
          {m.id, v.csrf, v.t("console.alerts.retry")});
    }
    std::string subject = outbox_subject(m);
    if (subject.empty()) subject = v.t("console.message.open");
    rows += html(
        "<tr><td><a href=\"/_console/alerts/{}\">{}</a></td><td class=\"when\">{}</td>"
        "<td class=\"name\"><a href=\"/_console/alerts/{}\">{}</a></td><td class=\"name\">{}</td>"
        "<td>{}</td><td class=\"num\">{}</td><td class=\"name\">{}</td></tr>",
        {m.id, m.id, format_local_time(m.created_at), m.id, subject, shown_recipient(m), state,
         format_count(m.attempts, lang), m.last_error});
  }
  body += html(
      "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
      "<th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
      "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead>"
      "<tbody>{}</tbody></table></div>",
      {v.t("console.alerts.id"), v.t("console.alerts.created"), v.t("console.alerts.what"),
       v.t("console.alerts.to"), v.t("console.alerts.state"), v.t("console.alerts.attempts"),
       v.t("console.alerts.error"), rows});
  if (a.older) {
    const std::string state = a.state ? std::string("state=") + to_string(*a.state) + "&" : "";
    body += html("<p class=\"pager\"><a href=\"/_console/alerts?{}before={}\">{}</a></p>",
                 {state, *a.older, v.t("console.alerts.older")});
  }
  return layout(v, v.t("console.alerts.title"), body, "alerts");
}

Markup message_page(const View& v, const SentMessageView& s) {
  const std::string lang(v.text->language());
  const OutboxMessage& m = s.message;
  Markup state = html("<span class=\"badge {}\">{}</span>",
                      {to_string(m.state), v.t(std::string("console.state.") + to_string(m.state))});
  if (m.state == OutboxState::kSent) {
    state += html(" <span class=\"when\">{}</span>", {format_local_time(m.sent_at)});
  }
  Markup rows = html(
      "<tr><th scope=\"row\">{}</th><td>{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>",
      {v.t("console.alerts.state"), state, v.t("console.message.channel"), m.channel});
  if (!s.subject.empty()) {
    rows += html("<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>",
                 {v.t("console.message.subject"), name(s.subject)});
  }
  rows += html(
      "<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td class=\"when\">{}</td></tr>"
      "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
      {v.t("console.alerts.to"), name(s.to.empty() ? shown_recipient(m) : s.to),
       v.t("console.alerts.created"), format_local_time(m.created_at), v.t("console.alerts.attempts"),
       format_count(m.attempts, lang)});
  if (!m.last_error.empty()) {
    rows += html("<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>",
                 {v.t("console.alerts.error"), m.last_error});
  }
  if (m.report_id > 0) {
    rows += html("<tr><th scope=\"row\">{}</th><td><a href=\"/_console/reports/{}\">{}</a></td></tr>",
                 {v.t("console.message.report"), m.report_id, m.report_id});
  }
  for (const auto& f : s.files) {
    rows += html("<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>",
                 {v.t("console.message.file"), name(f)});
  }
  Markup body = html("<div class=\"table-wrap\"><table><tbody>{}</tbody></table></div>", {rows});
  if (!s.error.empty()) {
    body += html("<div class=\"card bad\" role=\"alert\">{}</div>",
                 {v.f("console.message.unreadable", {{"error", s.error}})});
  } else {
    body += html("<h2>{}</h2><p class=\"hint\">{}</p><pre class=\"sent\">{}</pre>",
                 {v.t("console.message.body"), v.t("console.message.note"), s.text});
  }
  if (m.state == OutboxState::kDead && v.account->role == AccountRole::kOwner) {
    body += html(
        "<form class=\"inline\" method=\"post\" action=\"/_console/alerts/{}/retry\">{}"
        "<button type=\"submit\">{}</button></form>",
        {m.id, field_csrf(v), v.t("console.alerts.retry")});
  }
  body += html("<p><a href=\"/_console/alerts\">{}</a></p>", {v.t("console.message.back")});
  return layout(v, v.f("console.message.title", {{"id", std::to_string(m.id)}}), body, "alerts");
}

Markup status_page(const View& v, const StatusView& s) {
  const auto& h = s.health;
  const bool ready = s.outbox && h.inbox_watched && !h.stopping;
  Markup body = html("<div class=\"card {}\" role=\"status\">{}</div>",
                     {ready ? "ok" : "bad",
                      v.t(ready ? "console.status.ready" : "console.status.not_ready")});
  const auto row = [&](std::string_view key, const std::string& value) {
    return html("<tr><th scope=\"row\">{}</th><td class=\"name\">{}</td></tr>", {v.t(key), value});
  };
  Markup rows;
  rows += row("console.status.database",
              s.outbox ? v.t("console.status.database_ok") : s.database_error);
  rows += row("console.status.inbox",
              h.inbox_watched ? v.f("console.status.inbox_ok", {{"mode", h.inbox_mode}, {"path", h.inbox_path}})
                              : v.f("console.status.inbox_bad", {{"path", h.inbox_path}}));
  std::string mail = v.f("console.status.mail_via", {{"via", h.mail_via}}) + "; ";
  if (h.smtp_last_result.empty()) {
    mail += v.t("console.status.mail_idle");
  } else {
    mail += v.f(h.smtp_last_ok ? "console.status.mail_ok" : "console.status.mail_bad",
                {{"time", format_local_time(h.smtp_last_at)}, {"result", h.smtp_last_result}});
  }
  rows += row("console.status.mail", mail);
  if (!h.mailbox_via.empty()) {
    std::string box = v.f("console.status.mailbox_via", {{"via", h.mailbox_via}}) + "; ";
    if (!h.mailbox_ok) {
      box += v.f("console.status.mailbox_bad", {{"error", h.mailbox_error}});
    } else if (h.mailbox_last_look.time_since_epoch().count() == 0) {
      box += v.t("console.status.mailbox_starting");
    } else {
      box += v.f(h.mailbox_idle ? "console.status.mailbox_idle" : "console.status.mailbox_poll",
                 {{"time", format_local_time(h.mailbox_last_look)}});
    }
    rows += row("console.status.mailbox", box);
  }
  if (s.outbox) {
    const std::string lang(v.text->language());
    rows += row("console.status.outbox",
                v.f("console.status.outbox_counts", {{"queued", format_count(s.outbox->queued, lang)},
                                                     {"dead", format_count(s.outbox->dead, lang)}}));
  }
  body += html("<div class=\"table-wrap\"><table><tbody>{}</tbody></table></div>", {rows});
  body += html("<h2>{}</h2>", {v.t("console.status.failures")});
  if (s.failures.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.status.no_failures")});
  } else {
    Markup items;
    for (const auto& f : s.failures) {
      items += html("<tr><td class=\"name\">{}</td><td>{}</td><td class=\"when\">{}</td></tr>",
                    {name(f.name), f.address, format_local_time(f.at)});
    }
    body += html(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
        "<th scope=\"col\">{}</th></tr></thead><tbody>{}</tbody></table></div>",
        {v.t("console.status.name"), v.t("console.status.address"), v.t("console.status.when"), items});
  }
  return layout(v, v.t("console.status.title"), body, "status");
}

std::vector<std::string> problem_lines(const ReportRecord& r, const Catalog& text) {
  if (r.status != ReportStatus::kRejected) return {};
  return rendered_problem_lines(r.problems, r.error, text);
}

}  // namespace stockwatch::console

#include "http/console/forecast_pages.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "http/s3/s3_protocol.hpp"

namespace stockwatch::console {

namespace {

constexpr int kWidth = 720, kHeight = 260;
constexpr int kLeft = 56, kRight = 16, kTop = 16, kBottom = 40;

std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

}  // namespace

std::string item_href(std::string_view store, std::string_view item) {
  return "/_console/item?store=" + aws_uri_encode(store, false) +
         "&item=" + aws_uri_encode(item, false);
}

std::string format_decimal(std::optional<double> x, std::string_view language) {
  if (!x) return "-";
  char buf[32];
  if (*x >= 100) std::snprintf(buf, sizeof buf, "%.0f", *x);
  else std::snprintf(buf, sizeof buf, "%.1f", *x);
  std::string s = buf;
  if (language == "id") std::replace(s.begin(), s.end(), '.', ',');
  return s;
}

Markup history_chart(const View& v, const ItemView& d) {
  if (d.history.empty()) return html("<p class=\"muted\">{}</p>", {v.t("console.item.no_history")});
  const std::int64_t first = d.history.front().day;
  std::int64_t last = d.history.back().day;
  if (d.forecast.runs_out_on) last = std::max(last, *d.forecast.runs_out_on);
  if (last == first) last = first + 1;
  std::int64_t top = 1;
  for (const auto& p : d.history) top = std::max(top, p.count);
  const double w = kWidth - kLeft - kRight, h = kHeight - kTop - kBottom;
  const auto x = [&](std::int64_t day) {
    return kLeft + w * static_cast<double>(day - first) / static_cast<double>(last - first);
  };
  const auto y = [&](std::int64_t count) {
    return kTop + h * (1.0 - static_cast<double>(count) / static_cast<double>(top));
  };
  const std::string lang(v.text->language());
  Markup svg = html(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"chart-title\">"
      "<title id=\"chart-title\">{}</title>",
      {kWidth, kHeight, v.f("console.item.chart_title", {{"item", d.item}, {"store", d.store}})});
  // Axes: the count at 0 and at the top, the first and last day.
  svg += html("<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
              {kLeft, kTop + static_cast<int>(h), kWidth - kRight, kTop + static_cast<int>(h)});
  svg += html("<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
              {kLeft, kTop, kLeft, kTop + static_cast<int>(h)});
  svg += html("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
              {kLeft - 6, kTop + 4, format_count(top, lang)});
  svg += html("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
              {kLeft - 6, kTop + static_cast<int>(h) + 4});
  svg += html("<text class=\"label\" x=\"{}\" y=\"{}\">{}</text>",
              {kLeft, kHeight - 12, iso_day(first)});
  // The time axis ends at the predicted day when there is one (in red).
  const bool predicted_end = d.forecast.runs_out_on && *d.forecast.runs_out_on == last;
  svg += html("<text class=\"label{}\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
              {Markup{predicted_end ? " runout-label" : ""}, kWidth - kRight, kHeight - 12,
               iso_day(last)});
  // The counts as a line, then each point as a link to its report.
  std::string points;
  for (const auto& p : d.history) points += fmt(x(p.day)) + "," + fmt(y(p.count)) + " ";
  svg += html("<polyline class=\"series\" points=\"{}\"/>", {points});
  if (d.forecast.runs_out_on && d.count && *d.count > 0) {
    const auto& lastp = d.history.back();
    const std::int64_t from_day = d.usage ? std::max(d.usage->as_of_day, lastp.day) : lastp.day;
    svg += html(
        "<polyline class=\"predicted\" points=\"{},{} {},{} {},{}\"/>",
        {fmt(x(lastp.day)), fmt(y(lastp.count)), fmt(x(from_day)), fmt(y(*d.count)),
         fmt(x(*d.forecast.runs_out_on)), fmt(y(0))});
    svg += html(
        "<circle class=\"runout\" cx=\"{}\" cy=\"{}\" r=\"5\"><title>{}</title></circle>",
        {fmt(x(*d.forecast.runs_out_on)), fmt(y(0)),
         v.f("console.item.runs_out_on", {{"date", iso_day(*d.forecast.runs_out_on)}})});
  }
  for (const auto& p : d.history) {
    svg += html(
        "<a href=\"/_console/reports/{}\"><circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"5\">"
        "<title>{}</title></circle></a>",
        {p.report_id, fmt(x(p.day)), fmt(y(p.count)),
         v.f("console.item.point", {{"date", iso_day(p.day)},
                                    {"count", format_count(p.count, lang)},
                                    {"id", std::to_string(p.report_id)}})});
  }
  svg += Markup{"</svg>"};
  return svg;
}

Markup item_page(const View& v, const ItemView& d) {
  const std::string lang(v.text->language());
  const std::string title = v.f("console.item.title", {{"item", d.item}, {"store", d.store}});
  if (!d.count) {
    return layout(v, title, html("<p class=\"muted\">{}</p>", {v.t("console.item.unknown")}),
                  "inventory");
  }
  Markup body;
  body += html(
      "<ul class=\"totals\"><li>{}: {}</li><li>{}: {}</li><li{}>{}: {}</li><li{}>{}: {}</li></ul>",
      {v.t("console.inventory.count"), format_count(*d.count, lang), v.t("console.item.daily_use"),
       format_decimal(d.forecast.daily_use, lang),
       Markup{d.forecast.days_of_cover && *d.forecast.days_of_cover < 14 ? " class=\"bad\"" : ""},
       v.t("console.item.days_of_cover"), format_decimal(d.forecast.days_of_cover, lang),
       Markup{""}, v.t("console.item.runs_out"),
       d.forecast.runs_out_on ? iso_day(*d.forecast.runs_out_on)
                              : v.t(d.forecast.daily_use ? "console.item.never"
                                                         : "console.item.not_enough")});
  body += html("<div class=\"card chart-card\">{}</div>", {history_chart(v, d)});
  body += html("<p class=\"hint\">{}</p>", {v.t("console.item.method")});
  if (d.transfer) {
    body += html("<div class=\"card warn\"><h2>{}</h2><p>{}</p></div>",
                 {v.t("console.overview.transfers"),
                  v.f("console.transfer.line",
                      {{"quantity", format_count(d.transfer->quantity, lang)},
                       {"item", d.transfer->item},
                       {"from", d.transfer->from},
                       {"has", format_count(d.transfer->from_count, lang)},
                       {"to", d.transfer->to}})});
  }
  return layout(v, title, body, "inventory");
}

Markup forecast_overview(const View& v, const ForecastOverview& d) {
  const std::string lang(v.text->language());
  Markup body;
  body += html("<h2>{}</h2>", {v.t("console.overview.running_out")});
  if (d.running_out.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.overview.none_running_out")});
  } else {
    Markup rows;
    for (const auto& r : d.running_out) {
      const Forecast f = forecast(r.figures, r.count, r.as_of_day);
      rows += html(
          "<tr><td class=\"name\">{}</td><td class=\"name\"><a href=\"{}\">{}</a></td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
          {name(r.store), item_href(r.store, r.item), name(r.item), format_count(r.count, lang),
           format_decimal(f.daily_use, lang), format_decimal(f.days_of_cover, lang),
           f.runs_out_on ? iso_day(*f.runs_out_on) : std::string("-")});
    }
    body += html(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>"
        "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>"
        "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead>"
        "<tbody>{}</tbody></table></div>",
        {v.t("console.overview.store"), v.t("console.overview.item"), v.t("console.inventory.count"),
         v.t("console.item.daily_use"), v.t("console.item.days_of_cover"),
         v.t("console.item.runs_out"), rows});
  }
  body += html("<h2>{}</h2>", {v.t("console.overview.transfers")});
  if (d.transfers.empty()) {
    body += html("<p class=\"muted\">{}</p>", {v.t("console.overview.none_transfers")});
  } else {
    Markup items;
    for (const auto& t : d.transfers) {
      items += html("<li><a href=\"{}\">{}</a></li>",
                    {item_href(t.to, t.item),
                     v.f("console.transfer.line", {{"quantity", format_count(t.quantity, lang)},
                                                  {"item", t.item},
                                                  {"from", t.from},
                                                  {"has", format_count(t.from_count, lang)},
                                                  {"to", t.to}})});
    }
    body += html("<ul class=\"card transfers\">{}</ul>", {items});
  }
  return body;
}

std::string_view forecast_style() {
  return R"CSS(
.chart-card { padding: 0.5rem; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .axis { stroke: #9aa5ae; stroke-width: 1; }
svg.chart .label { fill: #5b6770; font-size: 12px; }
svg.chart .series { fill: none; stroke: #0b5cad; stroke-width: 2; }
svg.chart .predicted { fill: none; stroke: #a4161a; stroke-width: 2; stroke-dasharray: 6 4; }
svg.chart .point { fill: #0b5cad; stroke: #fff; stroke-width: 1.5; }
svg.chart a:hover .point, svg.chart a:focus .point { fill: #f0b429; }
svg.chart .runout { fill: #a4161a; }
svg.chart .runout-label { fill: #a4161a; font-weight: 600; }
ul.transfers { list-style: none; }
ul.transfers li { margin: 0.25rem 0; }
)CSS";
}

}  // namespace stockwatch::console

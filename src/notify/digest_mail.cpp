#include "notify/digest_mail.hpp"

#include <boost/json.hpp>

#include "notify/message.hpp"
#include "notify/report_missing.hpp"
#include "text/number_format.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

constexpr std::int64_t kVersion = 1;

Error bad_payload(const std::string& why) {
  return Error(ErrorCode::kCorrupt, "the digest's payload cannot be read: " + why);
}

json::object local_json(const LocalTime& t) {
  return json::object{{"at", to_unix_ms(t.at)}, {"offset_s", t.offset.count()}};
}

std::optional<std::int64_t> num_of(const json::object& o, const char* key) {
  const auto* x = o.if_contains(key);
  if (x && x->is_int64()) return x->as_int64();
  if (x && x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
  return std::nullopt;
}

std::string str_of(const json::object& o, const char* key) {
  const auto* x = o.if_contains(key);
  return x && x->is_string() ? std::string(x->as_string()) : std::string();
}

LocalTime local_of_json(const json::value* v) {
  LocalTime t;
  if (!v || !v->is_object()) return t;
  t.at = from_unix_ms(num_of(v->as_object(), "at").value_or(0));
  t.offset = std::chrono::seconds(num_of(v->as_object(), "offset_s").value_or(0));
  return t;
}

const json::array* array_of(const json::object& o, const char* key) {
  const auto* x = o.if_contains(key);
  return x && x->is_array() ? &x->as_array() : nullptr;
}

}  // namespace

std::string encode_digest(const DigestMail& d) {
  json::object o;
  o["v"] = kVersion;
  o["event"] = "digest";
  o["every"] = d.every;
  o["from"] = local_json(d.from);
  o["to"] = local_json(d.to);
  o["zone"] = d.zone;
  const auto items = [](const std::vector<DigestMail::Item>& list, bool with_minimum) {
    json::array a;
    for (const auto& i : list) {
      json::object x{{"store", i.store}, {"item", i.item}, {"count", i.count}};
      if (with_minimum) x["minimum"] = i.minimum;
      a.push_back(std::move(x));
    }
    return a;
  };
  o["out_of_stock"] = items(d.out_of_stock, false);
  o["out_of_stock_total"] = d.out_of_stock_total;
  o["below_minimum"] = items(d.below_minimum, true);
  o["below_minimum_total"] = d.below_minimum_total;
  const auto stores = [](const std::vector<DigestMail::StoreAt>& list) {
    json::array a;
    for (const auto& s : list) {
      json::object x{{"store", s.store}, {"at", local_json(s.at)}};
      if (s.by_day) x["by_day"] = true;
      a.push_back(std::move(x));
    }
    return a;
  };
  o["received"] = stores(d.received);
  o["missing"] = stores(d.missing);
  json::array changes;
  for (const auto& c : d.changes) {
    json::object x{{"store", c.store}, {"item", c.item}, {"new", c.new_count}, {"report", c.report_id}};
    if (c.old_count) x["old"] = *c.old_count;
    changes.push_back(std::move(x));
  }
  o["changes"] = std::move(changes);
  if (!d.transfers.empty()) {
    json::array transfers;
    for (const auto& t : d.transfers) {
      transfers.push_back(json::object{{"to", t.to}, {"item", t.item}, {"from", t.from},
                                       {"quantity", t.quantity}, {"to_count", t.to_count},
                                       {"from_count", t.from_count}});
    }
    o["transfers"] = std::move(transfers);
  }
  return json::serialize(o);
}

Result<DigestMail> decode_digest(std::string_view payload) {
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return bad_payload("not a JSON object");
  const auto& o = v.as_object();
  if (num_of(o, "v").value_or(0) != kVersion) return bad_payload("an unknown version");
  DigestMail d;
  d.every = str_of(o, "every");
  d.from = local_of_json(o.if_contains("from"));
  d.to = local_of_json(o.if_contains("to"));
  d.zone = str_of(o, "zone");
  const auto items = [&](const char* key, std::vector<DigestMail::Item>& out) -> Status {
    if (const auto* a = array_of(o, key)) {
      for (const auto& x : *a) {
        if (!x.is_object()) return bad_payload("an item is not an object");
        const auto& it = x.as_object();
        out.push_back({str_of(it, "store"), str_of(it, "item"), num_of(it, "count").value_or(0),
                       num_of(it, "minimum").value_or(0)});
      }
    }
    return {};
  };
  if (auto st = items("out_of_stock", d.out_of_stock); !st.ok()) return st.error();
  if (auto st = items("below_minimum", d.below_minimum); !st.ok()) return st.error();
  d.out_of_stock_total = num_of(o, "out_of_stock_total").value_or(0);
  d.below_minimum_total = num_of(o, "below_minimum_total").value_or(0);
  const auto stores = [&](const char* key, std::vector<DigestMail::StoreAt>& out) -> Status {
    if (const auto* a = array_of(o, key)) {
      for (const auto& x : *a) {
        if (!x.is_object()) return bad_payload("a store is not an object");
        const auto& s = x.as_object();
        const auto* by_day = s.if_contains("by_day");
        out.push_back({str_of(s, "store"), local_of_json(s.if_contains("at")),
                       by_day && by_day->is_bool() && by_day->as_bool()});
      }
    }
    return {};
  };
  if (auto st = stores("received", d.received); !st.ok()) return st.error();
  if (auto st = stores("missing", d.missing); !st.ok()) return st.error();
  if (const auto* a = array_of(o, "changes")) {
    for (const auto& x : *a) {
      if (!x.is_object()) return bad_payload("a change is not an object");
      const auto& c = x.as_object();
      d.changes.push_back({str_of(c, "store"), str_of(c, "item"), num_of(c, "old"),
                           num_of(c, "new").value_or(0), num_of(c, "report").value_or(0)});
    }
  }
  if (const auto* a = array_of(o, "transfers")) {
    for (const auto& x : *a) {
      if (!x.is_object()) return bad_payload("a transfer is not an object");
      const auto& t = x.as_object();
      d.transfers.push_back({str_of(t, "to"), str_of(t, "item"), str_of(t, "from"),
                             num_of(t, "quantity").value_or(0), num_of(t, "to_count").value_or(0),
                             num_of(t, "from_count").value_or(0)});
    }
  }
  return d;
}

RenderedText render_digest(const DigestMail& d, const Catalog& catalog) {
  const auto n = [](std::int64_t v) { return std::to_string(v); };
  const std::string to_date = local_date_text(d.to.local(), catalog, false);
  const std::string from_text = local_date_text(d.from.local(), catalog, true);
  const std::string to_text = local_date_text(d.to.local(), catalog, true);
  RenderedText out;
  // The subject: the most urgent thing it says.
  std::string summary;
  if (d.out_of_stock_total > 0) {
    summary = fill_template(catalog.text("digest.summary.out", d.out_of_stock_total),
                            std::array<TextArg, 1>{{{"n", n(d.out_of_stock_total)}}});
  }
  if (d.below_minimum_total > 0) {
    if (!summary.empty()) summary += ", ";
    summary += fill_template(catalog.text("digest.summary.below", d.below_minimum_total),
                             std::array<TextArg, 1>{{{"n", n(d.below_minimum_total)}}});
  }
  if (!d.missing.empty()) {
    const auto m = static_cast<std::int64_t>(d.missing.size());
    if (!summary.empty()) summary += ", ";
    summary += fill_template(catalog.text("digest.summary.missing", m),
                             std::array<TextArg, 1>{{{"n", n(m)}}});
  }
  if (summary.empty()) summary = std::string(catalog.text("digest.summary.all_in_stock"));
  out.subject = catalog.format("digest.subject", {{"date", to_date}, {"summary", summary}});

  std::string& b = out.body;
  b = catalog.format("digest.heading." + (d.every.empty() ? std::string("daily") : d.every),
                     {{"from", from_text}, {"to", to_text}, {"zone", sanitize_text(d.zone)}});
  b += "\n\n";
  if (d.quiet()) {
    b += catalog.format("digest.quiet", {});
    b += "\n";
    return out;
  }
  const auto line = [&b](const std::string& text) { b += "  " + text + "\n"; };
  const auto more = [&](std::int64_t total, std::size_t listed) {
    if (total > static_cast<std::int64_t>(listed)) {
      line(catalog.format("digest.more", {{"n", n(total - static_cast<std::int64_t>(listed))}}));
    }
  };
  if (d.out_of_stock_total == 0 && d.below_minimum_total == 0) {
    b += catalog.format("digest.all_in_stock", {});
    b += "\n\n";
  }
  if (d.out_of_stock_total > 0) {
    b += catalog.format("digest.section.out", {{"n", n(d.out_of_stock_total)}}) + "\n";
    for (const auto& i : d.out_of_stock) {
      line(catalog.format("digest.line.item", {{"store", sanitize_text(i.store)}, {"item", sanitize_text(i.item)}}));
    }
    more(d.out_of_stock_total, d.out_of_stock.size());
    b += "\n";
  }
  if (d.below_minimum_total > 0) {
    b += catalog.format("digest.section.below", {{"n", n(d.below_minimum_total)}}) + "\n";
    for (const auto& i : d.below_minimum) {
      line(catalog.format("digest.line.below", {{"store", sanitize_text(i.store)},
                                                {"item", sanitize_text(i.item)},
                                                {"count", format_number(i.count, catalog)},
                                                {"minimum", format_number(i.minimum, catalog)}}));
    }
    more(d.below_minimum_total, d.below_minimum.size());
    b += "\n";
  }
  if (!d.transfers.empty()) {
    b += catalog.format("digest.section.transfers",
                        {{"n", n(static_cast<std::int64_t>(d.transfers.size()))}}) + "\n";
    for (const auto& t : d.transfers) {
      line(catalog.format("digest.line.transfer", {{"to", sanitize_text(t.to)},
                                                   {"item", sanitize_text(t.item)},
                                                   {"from", sanitize_text(t.from)},
                                                   {"quantity", format_number(t.quantity, catalog)},
                                                   {"has", format_number(t.from_count, catalog)}}));
    }
    b += "\n";
  }
  if (!d.missing.empty()) {
    b += catalog.format("digest.section.missing", {{"n", n(static_cast<std::int64_t>(d.missing.size()))}}) + "\n";
    for (const auto& s : d.missing) {
      const auto local = s.at.local() - std::chrono::seconds(s.by_day ? 1 : 0);
      line(catalog.format("digest.line.missing", {{"store", sanitize_text(s.store)},
                                                  {"due", local_date_text(local, catalog, !s.by_day)}}));
    }
    b += "\n";
  }
  if (!d.received.empty()) {
    b += catalog.format("digest.section.received", {{"n", n(static_cast<std::int64_t>(d.received.size()))}}) + "\n";
    for (const auto& s : d.received) {
      line(catalog.format("digest.line.received", {{"store", sanitize_text(s.store)},
                                                   {"date", local_date_text(s.at.local(), catalog, true)}}));
    }
    b += "\n";
  } else {
    b += catalog.format("digest.none_received", {}) + "\n\n";
  }
  if (!d.changes.empty()) {
    b += catalog.format("digest.section.changes", {}) + "\n";
    for (const auto& c : d.changes) {
      line(catalog.format(c.old_count ? "digest.line.change" : "digest.line.new",
                          {{"store", sanitize_text(c.store)},
                           {"item", sanitize_text(c.item)},
                           {"old", c.old_count ? format_number(*c.old_count, catalog) : std::string()},
                           {"new", format_number(c.new_count, catalog)}}));
    }
    b += "\n";
  }
  while (b.size() >= 2 && b[b.size() - 1] == '\n' && b[b.size() - 2] == '\n') b.pop_back();
  return out;
}

}  // namespace stockwatch

#include "notify/template_mail.hpp"

#include <boost/json.hpp>

#include <array>

#include "crypto/digest.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

Error bad_payload(const std::string& why) {
  return Error(ErrorCode::kCorrupt, "the stock-count sheet's payload cannot be read: " + why);
}

}  // namespace

std::string encode_template_mail(const TemplateMail& mail) {
  json::object o;
  o["v"] = 1;
  o["store"] = mail.store;
  o["items"] = mail.items;
  o["as_of"] = to_unix_ms(mail.as_of);
  o["count_header"] = mail.count_header;
  o["last_count_header"] = mail.last_count_header;
  o["xlsx"] = to_base64(mail.xlsx);
  return json::serialize(o);
}

Result<TemplateMail> decode_template_mail(std::string_view payload) {
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return bad_payload("not a JSON object");
  const json::object& o = v.as_object();
  const auto* version = o.if_contains("v");
  if (!version || !version->is_int64() || version->as_int64() != 1) {
    return bad_payload("an unknown version");
  }
  const auto str = [&o](const char* key) -> std::string {
    const auto* x = o.if_contains(key);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  const auto num = [&o](const char* key) -> std::int64_t {
    const auto* x = o.if_contains(key);
    return x && x->is_int64() ? x->as_int64() : 0;
  };
  TemplateMail m;
  m.store = str("store");
  m.items = num("items");
  m.as_of = from_unix_ms(num("as_of"));
  m.count_header = str("count_header");
  m.last_count_header = str("last_count_header");
  const std::string encoded = str("xlsx");
  m.xlsx = from_base64(encoded);
  if (m.store.empty() || m.xlsx.empty()) return bad_payload("no store or no workbook");
  return m;
}

RenderedText render_template_mail(const TemplateMail& mail, const Catalog& catalog) {
  const std::string time = format_utc(mail.as_of, std::string(catalog.text("alert.time")).c_str());
  const std::string n = std::to_string(mail.items);
  const std::string items =
      fill_template(catalog.text("template.mail.items", mail.items), std::array<TextArg, 1>{{{"n", n}}});
  RenderedText out;
  out.subject = catalog.format("template.mail.subject", {{"store", mail.store}});
  out.body = catalog.format("template.mail.body", {{"store", mail.store},
                                                   {"items", items},
                                                   {"time", time},
                                                   {"count", mail.count_header},
                                                   {"last_count", mail.last_count_header}});
  return out;
}

Attachment template_attachment(const TemplateMail& mail) {
  return {mail.store + ".xlsx", std::string(kXlsxType), mail.xlsx};
}

}  // namespace stockwatch

#include "notify/mail_reply.hpp"

#include <boost/json.hpp>

#include <cstdio>

#include "notify/message.hpp"
#include "report/report_problem.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

constexpr std::int64_t kPayloadVersion = 1;

constexpr std::pair<MailOutcome, std::string_view> kOutcomeNames[] = {
    {MailOutcome::kLoaded, "loaded"},         {MailOutcome::kDuplicate, "duplicate"},
    {MailOutcome::kRejected, "rejected"},     {MailOutcome::kTooLarge, "too_large"},
    {MailOutcome::kNotReport, "not_report"},  {MailOutcome::kForeignStore, "foreign_store"},
    {MailOutcome::kTooMany, "too_many"},      {MailOutcome::kUnreadable, "unreadable"},
};

constexpr std::pair<MailReplyKind, std::string_view> kKindNames[] = {
    {MailReplyKind::kResults, "results"},   {MailReplyKind::kHowTo, "how_to"},
    {MailReplyKind::kRefused, "refused"},   {MailReplyKind::kUnverified, "unverified"},
    {MailReplyKind::kTooLarge, "too_large"},
};

std::string_view kind_name(MailReplyKind k) {
  for (const auto& [kind, name] : kKindNames) {
    if (kind == k) return name;
  }
  return "results";
}

Error bad_payload(std::string_view why) {
  return Error(ErrorCode::kCorrupt, "mail reply payload: " + std::string(why));
}

// "50 MB", "52.4 MB", "812 KB" (binary units, as file managers show them).
std::string human_size(std::uint64_t bytes) {
  char buf[32];
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  if (bytes >= 1024 * 1024) {
    if (bytes % (1024 * 1024) == 0) std::snprintf(buf, sizeof buf, "%.0f MB", mib);
    else std::snprintf(buf, sizeof buf, "%.1f MB", mib);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f KB", static_cast<double>(bytes) / 1024.0 + 0.5);
  }
  return buf;
}

std::string attachment_text(const MailReplyAttachment& a, const MailReply& reply,
                            const Catalog& catalog) {
  const std::string name = sanitize_text(a.name.empty() ? "?" : a.name);
  const std::string id = std::to_string(a.report_id);
  switch (a.outcome) {
    case MailOutcome::kLoaded: {
      const std::string rows = std::to_string(a.rows);
      std::string out = std::string(fill_template(catalog.text("mail.reply.loaded", a.rows),
                                                  std::initializer_list<TextArg>{
                                                      {"name", name}, {"rows", rows}, {"id", id}}));
      if (a.events.empty()) {
        out += "\n  " + std::string(catalog.text("mail.reply.no_alerts"));
        return out;
      }
      out += "\n  " + std::string(catalog.text("mail.reply.alerts"));
      for (const auto& e : a.events) {
        const std::string store = sanitize_text(e.store), item = sanitize_text(e.item),
                          count = std::to_string(e.count);
        std::string key = "mail.reply.event." + e.event;
        if (!catalog.has(key) && !english().has(key)) key = "mail.reply.event.other";
        out += "\n  - " + catalog.format(key, {{"store", store}, {"item", item}, {"count", count}});
      }
      if (const std::int64_t more = a.events_total - static_cast<std::int64_t>(a.events.size());
          more > 0) {
        const std::string n = std::to_string(more);
        out += "\n  " + catalog.format("mail.reply.more_alerts", {{"n", n}});
      }
      return out;
    }
    case MailOutcome::kDuplicate: {
      const std::string original = std::to_string(a.duplicate_of);
      return catalog.format("mail.reply.duplicate", {{"name", name}, {"original", original}});
    }
    case MailOutcome::kRejected: {
      std::string problems = rendered_problems(a.problems, a.problems_text, catalog);
      // Indented under the attachment's line.
      std::string indented;
      std::size_t start = 0;
      while (start < problems.size()) {
        std::size_t nl = problems.find('\n', start);
        if (nl == std::string::npos) nl = problems.size();
        indented += "  " + problems.substr(start, nl - start);
        if (nl < problems.size()) indented += '\n';
        start = nl + 1;
      }
      return catalog.format("mail.reply.rejected",
                            {{"name", name}, {"id", id}, {"problems", indented}});
    }
    case MailOutcome::kTooLarge: {
      const std::string size = human_size(a.size), limit = human_size(a.limit);
      return catalog.format("mail.reply.too_large", {{"name", name}, {"size", size}, {"limit", limit}});
    }
    case MailOutcome::kNotReport:
      return catalog.format("mail.reply.not_report", {{"name", name}});
    case MailOutcome::kForeignStore: {
      const std::string line = std::to_string(a.line), store = sanitize_text(a.store);
      return catalog.format(a.in_workbook ? "mail.reply.foreign_store_row" : "mail.reply.foreign_store",
                            {{"name", name}, {"line", line}, {"store", store}});
    }
    case MailOutcome::kTooMany: {
      const std::string limit = std::to_string(a.limit);
      return catalog.format("mail.reply.too_many", {{"name", name}, {"limit", limit}});
    }
    case MailOutcome::kUnreadable: {
      const std::string problem = sanitize_text(a.problems_text);
      return catalog.format("mail.reply.unreadable", {{"name", name}, {"problem", problem}});
    }
  }
  (void)reply;
  return name;
}

}  // namespace

std::string_view mail_outcome_name(MailOutcome outcome) {
  for (const auto& [o, name] : kOutcomeNames) {
    if (o == outcome) return name;
  }
  return "unreadable";
}

std::string encode_mail_reply(const MailReply& r) {
  json::object o;
  o["v"] = kPayloadVersion;
  o["kind"] = kind_name(r.kind);
  o["subject"] = r.subject;
  o["in_reply_to"] = r.in_reply_to;
  json::array refs;
  for (const auto& id : r.references) refs.emplace_back(id);
  o["references"] = std::move(refs);
  o["mailbox"] = r.mailbox;
  o["sender"] = r.sender;
  if (r.size) o["size"] = r.size;
  if (r.limit) o["limit"] = r.limit;
  json::array atts;
  for (const auto& a : r.attachments) {
    json::object x{{"name", a.name}, {"outcome", mail_outcome_name(a.outcome)}};
    if (a.report_id) x["report_id"] = a.report_id;
    if (a.rows) x["rows"] = a.rows;
    if (a.duplicate_of) x["duplicate_of"] = a.duplicate_of;
    if (!a.problems.empty()) {
      boost::system::error_code ec;
      auto parsed = json::parse(a.problems, ec);
      if (!ec) x["problems"] = std::move(parsed);
    }
    if (!a.problems_text.empty()) x["problems_text"] = a.problems_text;
    if (!a.events.empty()) {
      json::array ev;
      for (const auto& e : a.events) {
        ev.push_back(json::object{{"event", e.event}, {"store", e.store}, {"item", e.item},
                                  {"count", e.count}});
      }
      x["events"] = std::move(ev);
      x["events_total"] = a.events_total;
    }
    if (!a.store.empty()) x["store"] = a.store;
    if (a.line) x["line"] = a.line;
    if (a.in_workbook) x["in_workbook"] = true;
    if (a.size) x["size"] = a.size;
    if (a.limit) x["limit"] = a.limit;
    atts.push_back(std::move(x));
  }
  o["attachments"] = std::move(atts);
  return json::serialize(o);
}

Result<MailReply> decode_mail_reply(std::string_view payload) {
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return bad_payload("not a JSON object");
  const auto& o = v.as_object();
  const auto str = [](const json::object& from, const char* key) -> std::string {
    const auto* x = from.if_contains(key);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  const auto num = [](const json::object& from, const char* key) -> std::int64_t {
    const auto* x = from.if_contains(key);
    if (x && x->is_int64()) return x->as_int64();
    if (x && x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
    return 0;
  };
  if (num(o, "v") != kPayloadVersion) return bad_payload("unknown version");
  MailReply r;
  const std::string kind = str(o, "kind");
  bool known = false;
  for (const auto& [k, name] : kKindNames) {
    if (name == kind) {
      r.kind = k;
      known = true;
    }
  }
  if (!known) return bad_payload("unknown kind \"" + kind + "\"");
  r.subject = str(o, "subject");
  r.in_reply_to = str(o, "in_reply_to");
  if (const auto* refs = o.if_contains("references"); refs && refs->is_array()) {
    for (const auto& x : refs->as_array()) {
      if (x.is_string()) r.references.emplace_back(x.as_string());
    }
  }
  r.mailbox = str(o, "mailbox");
  r.sender = str(o, "sender");
  r.size = static_cast<std::uint64_t>(num(o, "size"));
  r.limit = static_cast<std::uint64_t>(num(o, "limit"));
  if (const auto* atts = o.if_contains("attachments"); atts && atts->is_array()) {
    for (const auto& x : atts->as_array()) {
      if (!x.is_object()) return bad_payload("an attachment is not an object");
      const auto& ao = x.as_object();
      MailReplyAttachment a;
      a.name = str(ao, "name");
      const std::string outcome = str(ao, "outcome");
      bool found = false;
      for (const auto& [oc, name] : kOutcomeNames) {
        if (name == outcome) {
          a.outcome = oc;
          found = true;
        }
      }
      if (!found) return bad_payload("unknown outcome \"" + outcome + "\"");
      a.report_id = num(ao, "report_id");
      a.rows = num(ao, "rows");
      a.duplicate_of = num(ao, "duplicate_of");
      if (const auto* p = ao.if_contains("problems")) a.problems = json::serialize(*p);
      a.problems_text = str(ao, "problems_text");
      if (const auto* ev = ao.if_contains("events"); ev && ev->is_array()) {
        for (const auto& e : ev->as_array()) {
          if (!e.is_object()) continue;
          const auto& eo = e.as_object();
          a.events.push_back({str(eo, "event"), str(eo, "store"), str(eo, "item"), num(eo, "count")});
        }
      }
      a.events_total = num(ao, "events_total");
      a.store = str(ao, "store");
      a.line = num(ao, "line");
      if (const auto* w = ao.if_contains("in_workbook"); w && w->is_bool()) a.in_workbook = w->as_bool();
      a.size = static_cast<std::uint64_t>(num(ao, "size"));
      a.limit = static_cast<std::uint64_t>(num(ao, "limit"));
      r.attachments.push_back(std::move(a));
    }
  }
  return r;
}

RenderedText render_mail_reply(const MailReply& r, const Catalog& catalog) {
  RenderedText out;
  std::string subject = sanitize_text(r.subject);
  // "Re: Re: ..." stays one "Re:".
  while (subject.size() >= 3 && (subject[0] == 'R' || subject[0] == 'r') &&
         (subject[1] == 'E' || subject[1] == 'e') && subject[2] == ':') {
    subject.erase(0, 3);
    while (!subject.empty() && subject.front() == ' ') subject.erase(0, 1);
  }
  if (subject.empty()) subject = std::string(catalog.text("mail.reply.no_subject"));
  out.subject = catalog.format("mail.reply.subject", {{"subject", subject}});
  const std::string mailbox = sanitize_text(r.mailbox);
  const std::string sender = sanitize_text(r.sender);
  switch (r.kind) {
    case MailReplyKind::kResults: {
      out.body = std::string(catalog.text("mail.reply.results")) + "\n";
      for (const auto& a : r.attachments) out.body += "\n" + attachment_text(a, r, catalog) + "\n";
      break;
    }
    case MailReplyKind::kHowTo:
      out.body = catalog.format("mail.reply.how_to", {{"mailbox", mailbox}}) + "\n";
      for (const auto& a : r.attachments) out.body += "\n" + attachment_text(a, r, catalog) + "\n";
      break;
    case MailReplyKind::kRefused:
      out.body = catalog.format("mail.reply.refused", {{"sender", sender}}) + "\n";
      break;
    case MailReplyKind::kUnverified:
      out.body = catalog.format("mail.reply.unverified", {{"sender", sender}}) + "\n";
      break;
    case MailReplyKind::kTooLarge: {
      const std::string size = human_size(r.size), limit = human_size(r.limit);
      out.body = catalog.format("mail.reply.message_too_large", {{"size", size}, {"limit", limit}}) + "\n";
      break;
    }
  }
  out.body += "\n" + catalog.format("mail.reply.footer", {{"mailbox", mailbox}}) + "\n";
  return out;
}

}  // namespace stockwatch

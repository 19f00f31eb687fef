// The console's view of a sent message (an email read back from the bytes
// every attempt sends) and the Upload page's parts for its script.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "http/console/pages.hpp"
#include "http/console/script.hpp"
#include "mailbox/mime_mail.hpp"
#include "notify/alert.hpp"

namespace stockwatch::console {
namespace {

OutboxMessage alert_message(const std::string& language) {
  Alert a;
  a.event = EventKind::kOutOfStock;
  a.report_id = 7;
  a.report_path = "medan/2026-11.csv";
  a.report_time = TimePoint(std::chrono::seconds(1'790'000'000));
  AlertItem item;
  item.store = "Medan";
  item.item = "Kopi \"Toraja\" <b>Kalosi</b> ☕ " + std::string(90, 'x');   // a long line
  item.old_count = 4;
  item.new_count = 0;
  a.items.push_back(item);
  a.total = 1;
  a.stores = 1;
  OutboxMessage m;
  m.id = 12;
  m.message_id = "alert-12@stockwatch.example";
  m.report_id = 7;
  m.event = "out_of_stock";
  m.sender = "stockwatch@example.com";
  m.recipient = "pemilik@example.com";
  m.language = language;
  m.payload = encode_alert(a);
  m.created_at = TimePoint(std::chrono::seconds(1'790'000'100));
  return m;
}

// A page as `name` (an owner, or a manager of `stores`) reads it in `language`.
View view_of(const std::string& name, const std::string& language,
             std::vector<std::string> stores = {}) {
  View v;
  v.text = &catalog_for(language);
  Account a;
  a.name = name;
  a.role = stores.empty() ? AccountRole::kOwner : AccountRole::kManager;
  a.stores = std::move(stores);
  v.account = a;
  v.csrf = "t0k3n";
  return v;
}

TEST(ConsoleMessage, AnEmailReadsBackAsItsWordsWereWritten) {
  for (const std::string lang : {"en", "id"}) {
    const OutboxMessage m = alert_message(lang);
    auto email = render_email(m);
    ASSERT_TRUE(email.ok()) << email.error().message();
    const MailText text = read_mail_text(*email);
    const RenderedText words = render_alert(*decode_alert(m.payload), catalog_for(lang));
    EXPECT_EQ(text.subject, words.subject);
    EXPECT_EQ(text.to, "pemilik@example.com");
    // The plain part, decoded from quoted-printable, is the body as written.
    EXPECT_NE(text.text.find("Kopi \"Toraja\" <b>Kalosi</b> ☕ " + std::string(90, 'x')),
              std::string::npos)
        << text.text;
    EXPECT_EQ(text.text.find('\r'), std::string::npos);
    EXPECT_EQ(text.text.find("=\n"), std::string::npos);
    EXPECT_TRUE(text.files.empty());
  }
}

TEST(ConsoleMessage, WhatIsNotAMailGivesNothingAndNoError) {
  const MailText text = read_mail_text("this is not a mail at all");
  EXPECT_TRUE(text.subject.empty());
  EXPECT_TRUE(text.text.empty());
}

TEST(ConsoleMessage, ThePageShowsTheMessageLiterallyInTheReadersLanguage) {
  const View v = view_of("owner", "id");
  SentMessageView s;
  s.message = alert_message("id");
  s.message.state = OutboxState::kDead;
  s.message.last_error = "550 <no such user>";
  s.subject = "Stok <script>alert(1)</script> habis";
  s.to = "pemilik@example.com";
  s.text = "Baris satu\n<img src=x onerror=alert(1)>\n";
  const std::string page = message_page(v, s).html;
  EXPECT_NE(page.find("Pesan 12"), std::string::npos);
  EXPECT_NE(page.find("Stok &lt;script&gt;alert(1)&lt;/script&gt; habis"), std::string::npos);
  EXPECT_NE(page.find("<pre class=\"sent\">Baris satu&#10;&lt;img src=x onerror=alert(1)&gt;&#10;</pre>"),
            std::string::npos);
  EXPECT_NE(page.find("550 &lt;no such user&gt;"), std::string::npos);
  EXPECT_NE(page.find("action=\"/_console/alerts/12/retry\""), std::string::npos);   // dead: retry
  EXPECT_NE(page.find("href=\"/_console/reports/7\""), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  s.error = "message 12 is for channel x";
  const std::string broken = message_page(v, s).html;
  EXPECT_NE(broken.find("tidak dapat ditampilkan"), std::string::npos);
  EXPECT_EQ(broken.find("<pre"), std::string::npos);
}

TEST(ConsoleMessage, AManagerReadsTheirMessagesButCannotSendOneAgain) {
  const View v = view_of("medan", "en", {"Medan"});
  SentMessageView s;
  s.message = alert_message("en");
  s.message.state = OutboxState::kDead;
  const std::string page = message_page(v, s).html;
  EXPECT_NE(page.find("Message 12"), std::string::npos);
  EXPECT_EQ(page.find("/retry"), std::string::npos);
  AlertsView list;
  list.messages.push_back(s.message);
  const std::string listed = alerts_page(v, list).html;
  EXPECT_NE(listed.find("href=\"/_console/alerts/12\""), std::string::npos);
  EXPECT_EQ(listed.find("/retry"), std::string::npos);
  // The Alerts page is in a manager's menu; Status is not.
  EXPECT_NE(listed.find("<a href=\"/_console/alerts\" aria-current=\"page\">"), std::string::npos);
  EXPECT_EQ(listed.find("href=\"/_console/status\""), std::string::npos);
}

TEST(ConsoleReports, EachReportSaysHowItArrivedInTheReadersLanguage) {
  std::vector<ReportRecord> reports;
  for (const char* by : {"folder", "s3", "browser", "email", ""}) {
    ReportRecord r;
    r.id = static_cast<std::int64_t>(reports.size()) + 1;
    r.path = "medan.csv";
    r.arrived_by = by;
    reports.push_back(r);
  }
  MailSource mail;
  mail.report_id = 5;   // an entry from before the column, known to have come by email
  mail.sender = "gudang@example.com";
  mail.attachment = "medan.csv";
  View v = view_of("owner", "en");
  std::string page = reports_page(v, reports, std::nullopt, {mail}).html;
  for (const char* words : {"inbox folder", "S3 upload", "browser upload"}) {
    EXPECT_NE(page.find(std::string("<td class=\"arrived\">") + words + "</td>"), std::string::npos)
        << words;
  }
  EXPECT_NE(page.find("<th scope=\"col\">Arrived by</th>"), std::string::npos);
  // "email" twice: recorded, and known from the mail.
  EXPECT_EQ(page.find("not recorded"), std::string::npos);
  reports.pop_back();
  v.text = &catalog_for("id");
  page = reports_page(v, reports, std::nullopt, {}).html;
  EXPECT_NE(page.find("<td class=\"arrived\">unggahan S3</td>"), std::string::npos);
  EXPECT_NE(page.find("Masuk lewat"), std::string::npos);
  ReportRecord old;
  old.id = 9;
  page = report_page(v, old, {}, false).html;
  EXPECT_NE(page.find("<td class=\"arrived\">tidak tercatat</td>"), std::string::npos);
}

TEST(ConsoleUpload, TheFormWorksAloneAndCarriesTheScriptsTexts) {
  View v;
  v.text = &catalog_for("en");
  v.csrf = "t0k3n";
  UploadOutcome o;
  o.file = "medan.csv";
  ReportRecord r;
  r.id = 3;
  r.status = ReportStatus::kLoaded;
  r.rows = 6;
  r.changes = 6;
  o.report = r;
  ChangeRecord c;
  c.store = "Medan";
  c.item = "<script>x</script>";
  c.new_count = 0;
  c.event = EventKind::kOutOfStock;
  o.events.push_back(c);
  o.more_events = true;
  const std::string page = upload_page(v, {o}, "").html;
  // The plain form: a file input, the token, a submit button.
  EXPECT_NE(page.find("enctype=\"multipart/form-data\" data-upload"), std::string::npos);
  EXPECT_NE(page.find("type=\"file\" id=\"files\" name=\"files\""), std::string::npos);
  EXPECT_NE(page.find("name=\"csrf\" value=\"t0k3n\""), std::string::npos);
  // The drop zone and the progress bar stay hidden until the script shows them.
  EXPECT_NE(page.find("<div class=\"drop\" hidden>"), std::string::npos);
  EXPECT_NE(page.find("<div class=\"progress\" hidden>"), std::string::npos);
  EXPECT_NE(page.find("data-sending=\"Sending: {percent}%\""), std::string::npos);
  // The alerts the report raised, escaped.
  EXPECT_NE(page.find("Alerts it raised:"), std::string::npos);
  EXPECT_NE(page.find("Medan is out of stock of &lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("and more"), std::string::npos);
  // The script is a file of this site; nothing inline.
  EXPECT_NE(page.find("<script src=\"/_console/console.js\" defer></script>"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  const auto res = page_response(200, upload_page(v, {}, ""));
  const std::string csp(res["Content-Security-Policy"]);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_NE(console_script().find("form[data-upload]"), std::string::npos);
}

}  // namespace
}  // namespace stockwatch::console

// The channels: the webhook's signature and schema, the Telegram body,
// rendering in English and Indonesian (subjects, bodies, the HTML part,
// numbers), Retry-After, the classification of HTTP answers, masking, the
// channel settings, and the mailer's handling of a Retry-After. The HTTP
// calls against real receivers are in tests/e2e/test_channels.py; the
// mailer tests here use a scripted channel.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <curl/curl.h>
#include <sys/stat.h>

#include <deque>

#include "config/config.hpp"
#include "notify/alert.hpp"
#include "notify/channel.hpp"
#include "notify/http_post.hpp"
#include "notify/mailer.hpp"
#include "notify/telegram.hpp"
#include "notify/webhook.hpp"
#include "scripted_transport.hpp"
#include "test_util.hpp"
#include "text/masked_url.hpp"
#include "text/number_format.hpp"

namespace stockwatch {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const TimePoint kLoaded = TimePoint(std::chrono::seconds(1'780'000'000));  // 2026-05-28 20:26:40 UTC

Alert medan_out(std::string prefix = "Inventory Alert!") {
  Alert a;
  a.event = EventKind::kOutOfStock;
  a.subject_prefix = std::move(prefix);
  a.report_id = 7;
  a.report_path = "2026-11-medan.csv";
  a.report_time = kLoaded;
  a.items = {{"Medan", "Robusta Dairi", 12, 0, std::nullopt}};
  a.total = 1;
  a.stores = 1;
  return a;
}

OutboxMessage message_of(const Alert& a, std::string channel, std::string recipient,
                         std::string language) {
  OutboxMessage m;
  m.id = 3;
  m.message_id = "out_of_stock-report.7.0123456789abcdef@example.com";
  m.report_id = a.report_id;
  m.event = std::string(event_name(a.event));
  m.channel = std::move(channel);
  m.sender = "stockwatch@example.com";
  m.recipient = std::move(recipient);
  m.language = std::move(language);
  m.payload = encode_alert(a);
  m.created_at = kLoaded;
  m.next_attempt_at = kLoaded;
  return m;
}

// --- Numbers and words ------------------------------------------------------------

TEST(NumberFormat, GroupsThousandsAsEachLanguageWritesThem) {
  EXPECT_EQ(format_number(0, catalog_for("en")), "0");
  EXPECT_EQ(format_number(999, catalog_for("en")), "999");
  EXPECT_EQ(format_number(1234, catalog_for("en")), "1,234");
  EXPECT_EQ(format_number(1234, catalog_for("id")), "1.234");
  EXPECT_EQ(format_number(1234567, catalog_for("id")), "1.234.567");
  EXPECT_EQ(format_number(-1234567, catalog_for("en")), "-1,234,567");
}

TEST(NumberFormat, AmountsHaveOneDecimalBelowTenInEachLanguagesMark) {
  EXPECT_EQ(format_amount(0.0, catalog_for("en")), "0.0");
  EXPECT_EQ(format_amount(2.46, catalog_for("en")), "2.5");
  EXPECT_EQ(format_amount(2.46, catalog_for("id")), "2,5");
  EXPECT_EQ(format_amount(9.96, catalog_for("id")), "10");
  EXPECT_EQ(format_amount(1234.4, catalog_for("en")), "1,234");
  EXPECT_EQ(format_amount(1234.4, catalog_for("id")), "1.234");
  EXPECT_EQ(format_amount(-3.0, catalog_for("en")), "0.0");
}

TEST(AlertLanguage, IndonesianSubjectNamesTheEventFirst) {
  const RenderedText id = render_alert(medan_out(""), catalog_for("id"));
  EXPECT_EQ(id.subject, "Stok habis: Medan, Robusta Dairi");
  EXPECT_NE(id.body.find("Stok Robusta Dairi di Medan habis\n"), std::string::npos) << id.body;
  EXPECT_NE(id.body.find("Laporan: 2026-11-medan.csv (laporan 7), dimuat 28/05/2026 20.26.40 UTC"),
            std::string::npos)
      << id.body;
  const RenderedText en = render_alert(medan_out(), catalog_for("en"));
  EXPECT_EQ(en.subject, "Inventory Alert! Medan: Robusta Dairi is out of stock");
  EXPECT_NE(en.body.find("Medan is out of stock of Robusta Dairi\n"), std::string::npos);
}

TEST(AlertLanguage, CountsAreFormattedForTheLanguage) {
  Alert a = medan_out();
  a.event = EventKind::kBackInStock;
  a.items = {{"Medan", "Robusta Dairi", 0, 1234, std::nullopt}};
  EXPECT_NE(render_alert(a, catalog_for("en")).body.find("Medan has Robusta Dairi back in stock (1,234)"),
            std::string::npos);
  EXPECT_NE(render_alert(a, catalog_for("id")).body.find("Robusta Dairi di Medan tersedia lagi (1.234)"),
            std::string::npos);
}

TEST(AlertLanguage, IndonesianSummariesForSeveralItemsAndStores) {
  Alert a = medan_out("");
  a.items.push_back({"Medan", "Arabika Gayo", 3, 0, std::nullopt});
  a.total = 2;
  EXPECT_EQ(render_alert(a, catalog_for("id")).subject, "Stok habis: Medan, 2 barang");
  a.items.push_back({"Makassar", "Toraja", 3, 0, std::nullopt});
  a.total = 1500;
  a.stores = 2;
  const RenderedText t = render_alert(a, catalog_for("id"));
  EXPECT_EQ(t.subject, "Stok habis: 1.500 barang di 2 gudang (3 pertama dicantumkan)");
  EXPECT_NE(t.body.find("... dan 1.497 barang lain habis"), std::string::npos) << t.body;
}

TEST(AlertLanguage, PerItemMessagesWithoutAPrefixSayWhatHappened) {
  Alert a = medan_out("");
  a.per_item = true;
  EXPECT_EQ(render_alert(a, catalog_for("id")).subject, "Stok habis: Medan, Robusta Dairi");
  a.subject_prefix = "Inventory Alert!";
  EXPECT_EQ(render_alert(a, catalog_for("en")).subject, "Inventory Alert!");
}

TEST(AlertLanguage, RejectionInIndonesian) {
  Alert a;
  a.event = EventKind::kReportRejected;
  a.report_id = 9;
  a.report_path = "medan.csv";
  a.report_time = kLoaded;
  a.problems_text = "line 2: the count is empty";
  const RenderedText t = render_alert(a, catalog_for("id"));
  EXPECT_EQ(t.subject, "Laporan ditolak: medan.csv");
  EXPECT_NE(t.body.find("Laporan medan.csv ditolak, dan tidak ada isinya yang dimuat."),
            std::string::npos);
}

// --- The email --------------------------------------------------------------------

TEST(AlertEmail, MultipartAlternativeWithAnEscapedHtmlTable) {
  Alert a = medan_out();
  a.items = {{"Medan", "<b>Kopi & Teh</b>", 1500, 0, std::nullopt},
             {"Makassar", "Toraja", std::nullopt, 0, 5}};
  a.total = 2;
  a.stores = 2;
  const OutboxMessage m = message_of(a, "email", "owner@example.com", "en");
  auto eml = render_email(m);
  ASSERT_TRUE(eml.ok()) << eml.error().message();
  EXPECT_NE(eml->find("Content-Type: multipart/alternative;\r\n boundary=\"=_stockwatch_alt_"),
            std::string::npos);
  // No line of the headers is longer than 78 characters.
  const std::string head = eml->substr(0, eml->find("\r\n\r\n"));
  for (std::size_t pos = 0; pos < head.size();) {
    const std::size_t end = std::min(head.find("\r\n", pos), head.size());
    EXPECT_LE(end - pos, 78u) << head.substr(pos, end - pos);
    pos = end + 2;
  }
  EXPECT_NE(eml->find("Content-Type: text/plain; charset=utf-8"), std::string::npos);
  EXPECT_NE(eml->find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_NE(eml->find("Message-ID: <out_of_stock-report.7.0123456789abcdef@example.com>"),
            std::string::npos);
  // Every attempt renders the same bytes.
  EXPECT_EQ(*eml, *render_email(m));

  const RenderedText text = render_alert(a, catalog_for("en"));
  const std::string html = render_alert_html(a, catalog_for("en"), text);
  EXPECT_EQ(html.find("<b>Kopi"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;Kopi &amp; Teh&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("<h3 style=\"margin:16px 0 4px\">Medan</h3>"), std::string::npos);
  EXPECT_NE(html.find("<h3 style=\"margin:16px 0 4px\">Makassar</h3>"), std::string::npos);
  EXPECT_LT(html.find(">Medan</h3>"), html.find(">Makassar</h3>"));
  EXPECT_NE(html.find(">1,500<"), std::string::npos);          // previous count
  EXPECT_NE(html.find(">5<"), std::string::npos);              // minimum
  EXPECT_NE(html.find(">new<"), std::string::npos);            // no previous count
  EXPECT_NE(html.find("<th"), std::string::npos);
  EXPECT_NE(html.find("Previous count"), std::string::npos);
  EXPECT_NE(html.find("2026-11-medan.csv (report 7), 2026-05-28 20:26:40 UTC"), std::string::npos);
}

TEST(AlertEmail, IndonesianHtmlHeadings) {
  Alert a = medan_out("");
  a.items[0].old_count = 1234;
  const std::string html =
      render_alert_html(a, catalog_for("id"), render_alert(a, catalog_for("id")));
  EXPECT_NE(html.find("<html lang=\"id\">"), std::string::npos);
  EXPECT_NE(html.find("Jumlah sebelumnya"), std::string::npos);
  EXPECT_NE(html.find(">1.234<"), std::string::npos);
}

// --- The webhook ------------------------------------------------------------------

TEST(Webhook, SignatureIsHexHmacSha256OfTheBody) {
  // RFC 4231-style known answer (the classic "quick brown fox" vector).
  EXPECT_EQ(webhook_signature("key", "The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST(Webhook, BodyFollowsSchemaVersion1) {
  Alert a = medan_out();
  a.items[0].minimum = 4;
  a.items.push_back({"Medan", "Arabika <Gayo>", std::nullopt, 0, std::nullopt});
  a.total = 2;
  auto body = webhook_body(message_of(a, "webhook", "https://hooks.example.com/T/B/X", "en"));
  ASSERT_TRUE(body.ok()) << body.error().message();
  const json::object o = json::parse(*body).as_object();
  EXPECT_EQ(o.at("schema").as_string(), "stockwatch.alert");
  EXPECT_EQ(o.at("version").as_int64(), 1);
  EXPECT_EQ(o.at("id").as_string(), "out_of_stock-report.7.0123456789abcdef@example.com");
  EXPECT_EQ(o.at("event").as_string(), "out_of_stock");
  EXPECT_EQ(o.at("language").as_string(), "en");
  EXPECT_EQ(o.at("store").as_string(), "Medan");
  EXPECT_EQ(o.at("items_total").as_int64(), 2);
  const auto& items = o.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("item").as_string(), "Robusta Dairi");
  EXPECT_EQ(items[0].at("count").as_int64(), 0);
  EXPECT_EQ(items[0].at("minimum").as_int64(), 4);
  EXPECT_EQ(items[0].at("previous_count").as_int64(), 12);
  EXPECT_TRUE(items[1].at("minimum").is_null());
  EXPECT_TRUE(items[1].at("previous_count").is_null());
  EXPECT_EQ(o.at("report").at("id").as_int64(), 7);
  EXPECT_EQ(o.at("report").at("file").as_string(), "2026-11-medan.csv");
  EXPECT_EQ(o.at("report").at("time").as_string(), "2026-05-28T20:26:40Z");
  EXPECT_EQ(o.at("subject").as_string(), "Inventory Alert! Medan: 2 items out of stock");
  // Slack's and Mattermost's field: the subject, a blank line, the body, with & < > escaped.
  const std::string text(o.at("text").as_string());
  EXPECT_EQ(text.rfind("Inventory Alert! Medan: 2 items out of stock\n\n", 0), 0u) << text;
  EXPECT_NE(text.find("Medan is out of stock of Arabika &lt;Gayo&gt;"), std::string::npos) << text;
}

TEST(Webhook, SeveralStoresHaveNoSingleStore) {
  Alert a = medan_out();
  a.items.push_back({"Makassar", "Toraja", 1, 0, std::nullopt});
  a.total = 2;
  a.stores = 2;
  auto body = webhook_body(message_of(a, "webhook", "https://x.example/h", "id"));
  ASSERT_TRUE(body.ok());
  const json::object o = json::parse(*body).as_object();
  EXPECT_TRUE(o.at("store").is_null());
  EXPECT_EQ(o.at("stores").as_array().size(), 2u);
  EXPECT_EQ(o.at("language").as_string(), "id");
}

TEST(Webhook, RejectionCarriesItsProblemsInTheLanguage) {
  Alert a;
  a.event = EventKind::kReportRejected;
  a.report_id = 9;
  a.report_path = "medan.csv";
  a.report_time = kLoaded;
  a.problems_text = "line 2: the count is empty";
  auto body = webhook_body(message_of(a, "webhook", "https://x.example/h", "id"));
  ASSERT_TRUE(body.ok());
  const json::object o = json::parse(*body).as_object();
  EXPECT_EQ(o.at("event").as_string(), "report_rejected");
  EXPECT_EQ(o.at("problems").as_array().size(), 1u);
  EXPECT_EQ(o.at("subject").as_string(), "Laporan ditolak: medan.csv");
}

// --- Telegram ---------------------------------------------------------------------

TEST(Telegram, BodyIsPlainChatText) {
  auto body = telegram_body(message_of(medan_out(""), "telegram", "-1001234567890", "id"));
  ASSERT_TRUE(body.ok());
  const json::object o = json::parse(*body).as_object();
  EXPECT_EQ(o.at("chat_id").as_string(), "-1001234567890");
  const std::string text(o.at("text").as_string());
  EXPECT_EQ(text.rfind("Stok habis: Medan, Robusta Dairi\n\nStok Robusta Dairi di Medan habis\n", 0), 0u)
      << text;
  EXPECT_FALSE(o.contains("parse_mode"));
}

TEST(Telegram, LongTextIsCutAtALineEnd) {
  Alert a = medan_out();
  for (int i = 0; i < 400; ++i) a.items.push_back({"Medan", "Item " + std::to_string(i), 1, 0, {}});
  a.total = static_cast<std::int64_t>(a.items.size());
  auto body = telegram_body(message_of(a, "telegram", "42", "en"));
  ASSERT_TRUE(body.ok());
  const std::string text(json::parse(*body).at("text").as_string());
  EXPECT_LE(text.size(), 4096u);
  EXPECT_EQ(text.substr(text.size() - 4), "\n...");
}

TEST(Telegram, TheLimitCountsCharactersAsTelegramDoes) {
  Alert a = medan_out();
  // "\U0001F600" is one character but two UTF-16 units, as Telegram counts.
  for (int i = 0; i < 400; ++i) {
    a.items.push_back({"Medan", "Kopi \U0001F600\U0001F600 " + std::to_string(i), 1, 0, {}});
  }
  a.total = static_cast<std::int64_t>(a.items.size());
  auto body = telegram_body(message_of(a, "telegram", "42", "en"));
  ASSERT_TRUE(body.ok());
  const std::string text(json::parse(*body).at("text").as_string());
  std::size_t units = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) units += c >= 0xF0 ? 2 : 1;  // a character's first byte
  }
  EXPECT_LE(units, 4096u);
  EXPECT_GT(units, 3900u);
  EXPECT_EQ(text.substr(text.size() - 4), "\n...");
}

// --- Retry-After and outcomes -----------------------------------------------------

TEST(RetryAfter, DeltaSecondsAndHttpDates) {
  const TimePoint now = TimePoint(std::chrono::seconds(1'445'412'450));  // Wed, 21 Oct 2015 07:27:30 GMT
  EXPECT_EQ(parse_retry_after("120", now), std::chrono::milliseconds(120s));
  EXPECT_EQ(parse_retry_after(" 0 ", now), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), std::chrono::milliseconds(30s));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after("99999999999", now), std::chrono::milliseconds(kMaxRetryAfter));
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
}

HttpPostReply answer(long status, std::string retry_after = {}, std::string body = {}) {
  HttpPostReply r;
  r.status = status;
  r.retry_after = std::move(retry_after);
  r.body = std::move(body);
  return r;
}

TEST(HttpOutcome, TheOneRuleForEveryHttpChannel) {
  using Kind = SendOutcome::Kind;
  const TimePoint now = kLoaded;
  EXPECT_EQ(classify_http(answer(200), "w", now).kind, Kind::kSent);
  EXPECT_EQ(classify_http(answer(204), "w", now).kind, Kind::kSent);
  const SendOutcome busy = classify_http(answer(429, "7"), "w", now);
  EXPECT_EQ(busy.kind, Kind::kTransient);
  EXPECT_EQ(busy.retry_after, std::chrono::milliseconds(7s));
  const SendOutcome down = classify_http(answer(503, "3"), "w", now);
  EXPECT_EQ(down.kind, Kind::kTransient);
  EXPECT_EQ(down.retry_after, std::chrono::milliseconds(3s));
  EXPECT_EQ(classify_http(answer(503), "w", now).retry_after, std::nullopt);
  EXPECT_EQ(classify_http(answer(429, "later"), "w", now).retry_after, std::nullopt);
  EXPECT_EQ(classify_http(answer(500, "9"), "w", now).kind, Kind::kTransient);
  EXPECT_EQ(classify_http(answer(500, "9"), "w", now).retry_after, std::nullopt);  // only 429/503
  EXPECT_EQ(classify_http(answer(502), "w", now).kind, Kind::kTransient);
  EXPECT_EQ(classify_http(answer(400), "w", now).kind, Kind::kPermanent);
  EXPECT_EQ(classify_http(answer(401), "w", now).kind, Kind::kPermanent);
  EXPECT_EQ(classify_http(answer(404, {}, "not here"), "w", now).kind, Kind::kPermanent);
  EXPECT_EQ(classify_http(answer(410), "w", now).kind, Kind::kPermanent);
  EXPECT_EQ(classify_http(answer(301), "w", now).kind, Kind::kPermanent);
  HttpPostReply refused;
  refused.curl_code = CURLE_COULDNT_CONNECT;
  refused.error = "Failed to connect to 127.0.0.1 port 9";
  EXPECT_EQ(classify_http(refused, "w", now).kind, Kind::kTransient);
  HttpPostReply timeout;
  timeout.curl_code = CURLE_OPERATION_TIMEDOUT;
  EXPECT_EQ(classify_http(timeout, "w", now).kind, Kind::kTransient);
  HttpPostReply bad_url;
  bad_url.curl_code = CURLE_UNSUPPORTED_PROTOCOL;
  EXPECT_EQ(classify_http(bad_url, "w", now).kind, Kind::kPermanent);
  EXPECT_NE(classify_http(answer(404, {}, "not here"), "webhook x", now).detail.find("HTTP 404: not here"),
            std::string::npos);
}

// --- Masking ----------------------------------------------------------------------

TEST(Masking, UrlPathsAndSecretsNeverShow) {
  EXPECT_EQ(mask_url_path("https://hooks.slack.com/services/T0/B0/XYZ"), "https://hooks.slack.com/...");
  EXPECT_EQ(mask_url_path("https://user:pw@example.com:8443/x?y=1"), "https://example.com:8443/...");
  EXPECT_EQ(mask_url_path("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(mask_secret("POST /bot123:ABC/sendMessage failed: 123:ABC", "123:ABC"),
            "POST /bot***/sendMessage failed: ***");
  EXPECT_EQ(mask_secret("nothing", ""), "nothing");
  OutboxMessage m;
  m.channel = "webhook";
  m.recipient = "https://hooks.slack.com/services/T0/B0/XYZ";
  EXPECT_EQ(shown_recipient(m), "https://hooks.slack.com/...");
}

TEST(TelegramChannel, ErrorsNeverShowTheToken) {
  // Nothing listens on port 9 of this machine's loopback (discard is not
  // served in test environments): the failure's text must not carry the token.
  TelegramConfig cfg;
  cfg.token = "123456:SECRET-token";
  cfg.api_url = "http://127.0.0.1:9";
  HttpPostOptions options;
  options.connect_timeout = 2s;
  options.timeout = 2s;
  TelegramChannel channel(cfg, options);
  const SendOutcome out = channel.deliver(message_of(medan_out(), "telegram", "42", "en"));
  EXPECT_FALSE(out.sent());
  EXPECT_EQ(out.detail.find("SECRET"), std::string::npos) << out.detail;
  EXPECT_EQ(out.detail.find("123456"), std::string::npos) << out.detail;
  EXPECT_NE(out.detail.find("telegram chat 42"), std::string::npos) << out.detail;
}

// --- Settings ---------------------------------------------------------------------

class ChannelConfig : public ::testing::Test {
 protected:
  ConfigLoad parse(const std::string& subscription, const std::string& extra = {}) {
    const std::string text = "[alerts]\nfrom = \"a@example.com\"\n\n[[alerts.subscription]]\n" +
                             subscription + "\n" + extra;
    return parse_config(text, "test.toml", dir_.path());
  }
  static std::string problems(const ConfigLoad& load) {
    std::string out;
    for (const auto& p : load.problems) out += p.to_string() + "\n";
    return out;
  }
  fs::path secret(const std::string& name, mode_t mode, const std::string& text = "s3cret\n") {
    const fs::path p = dir_ / name;
    test::write_file(p, text);
    ::chmod(p.c_str(), mode);
    return p;
  }
  test::TempDir dir_{"channels"};
};

TEST_F(ChannelConfig, AWebhookWithItsSecret) {
  const auto s = secret("hook.secret", 0600);
  const ConfigLoad load = parse("webhook = \"https://hooks.example.com/x\"\nsecret_file = \"" +
                                s.string() + "\"\nlanguage = \"id\"");
  ASSERT_TRUE(load.ok()) << problems(load);
  const auto& sub = load.config.alerts.subscriptions.at(0);
  EXPECT_EQ(sub.webhook, "https://hooks.example.com/x");
  EXPECT_EQ(sub.secret, "s3cret");
  EXPECT_EQ(sub.language, "id");
}

TEST_F(ChannelConfig, LanguageDefaultsToTheAlertsLanguage) {
  const std::string text =
      "[alerts]\nfrom = \"a@example.com\"\nlanguage = \"id\"\n\n[[alerts.subscription]]\n"
      "email = \"o@example.com\"\n\n[[alerts.subscription]]\nemail = \"p@example.com\"\n"
      "language = \"en\"\n";
  const ConfigLoad load = parse_config(text, "test.toml", dir_.path());
  ASSERT_TRUE(load.ok()) << problems(load);
  EXPECT_EQ(load.config.alerts.language, "id");
  EXPECT_EQ(load.config.alerts.subscriptions.at(0).language, "id");
  EXPECT_EQ(load.config.alerts.subscriptions.at(1).language, "en");
  EXPECT_EQ(parse("email = \"o@example.com\"").config.alerts.subscriptions.at(0).language, "en");
}

TEST_F(ChannelConfig, BadSettingsAreNamedWithKeyAndLine) {
  const auto s = secret("hook.secret", 0600);
  EXPECT_EQ(problems(parse("webhook = \"ftp://example.com/x\"\nsecret_file = \"" + s.string() + "\"")),
            "alerts.subscription[0].webhook (line 5): \"ftp://example.com/...\" is not an http:// or "
            "https:// URL\n");
  EXPECT_NE(problems(parse("webhook = \"https://example.com/x\"")).find(
                "alerts.subscription[0].secret_file (line 5): a webhook needs secret_file"),
            std::string::npos);
  const auto open = secret("open.secret", 0644);
  EXPECT_NE(problems(parse("webhook = \"https://example.com/x\"\nsecret_file = \"" + open.string() + "\""))
                .find("alerts.subscription[0].secret_file (line 6): " + open.string() +
                      " can be read by every user of this machine; make it private: chmod 600"),
            std::string::npos);
  EXPECT_NE(problems(parse("email = \"o@example.com\"\nwebhook = \"https://example.com/x\"\n"
                           "secret_file = \"" + s.string() + "\""))
                .find("has more than one of email, webhook and telegram"),
            std::string::npos);
  EXPECT_NE(problems(parse("email = \"o@example.com\"\nlanguage = \"fr\""))
                .find("alerts.subscription[0].language (line 6): must be one of \"en\", \"id\""),
            std::string::npos);
}

TEST_F(ChannelConfig, TelegramNeedsAPrivateReadableTokenFile) {
  EXPECT_NE(problems(parse("telegram = \"42\"")).find(
                "alerts.subscription[0].telegram (line 5): a Telegram subscription needs the bot's "
                "token: add [telegram]"),
            std::string::npos);
  const auto token = secret("token", 0600, "123456:ABC\n");
  const ConfigLoad ok =
      parse("telegram = \"-1001234567890\"", "[telegram]\ntoken_file = \"" + token.string() + "\"\n");
  ASSERT_TRUE(ok.ok()) << problems(ok);
  EXPECT_EQ(ok.config.telegram.token, "123456:ABC");
  EXPECT_EQ(ok.config.telegram.api_url, "https://api.telegram.org");

  const auto open = secret("open-token", 0604, "123456:ABC\n");
  const std::string world = problems(
      parse("telegram = \"42\"", "[telegram]\ntoken_file = \"" + open.string() + "\"\n"));
  EXPECT_NE(world.find("telegram.token_file (line 7): " + open.string() +
                       " can be read by every user of this machine"),
            std::string::npos)
      << world;
  EXPECT_EQ(world.find("123456:ABC"), std::string::npos);
  const std::string missing = problems(parse(
      "telegram = \"42\"", "[telegram]\ntoken_file = \"" + (dir_ / "none").string() + "\"\n"));
  EXPECT_NE(missing.find("telegram.token_file (line 7): cannot read "), std::string::npos) << missing;
  EXPECT_NE(problems(parse("telegram = \"42\"", "[telegram]\ntoken_file = \"" + token.string() +
                                                  "\"\napi_url = \"file:///etc/passwd\"\n"))
                .find("telegram.api_url (line 8): \"file:///etc/passwd\" is not an http:// or "
                      "https:// URL"),
            std::string::npos);
  EXPECT_NE(problems(parse("telegram = \"some chat\"", "[telegram]\ntoken_file = \"" + token.string() + "\"\n"))
                .find("alerts.subscription[0].telegram (line 5): \"some chat\" is not a Telegram chat id"),
            std::string::npos);
}

// --- The mailer with a channel -----------------------------------------------------

class ScriptedChannel final : public Channel {
 public:
  SendOutcome deliver(const OutboxMessage& m) override {
    calls.push_back(m.message_id);
    if (outcomes.empty()) return {SendOutcome::Kind::kSent, 200, "accepted"};
    SendOutcome out = outcomes.front();
    outcomes.pop_front();
    return out;
  }
  std::deque<SendOutcome> outcomes;
  std::vector<std::string> calls;
};

class ChannelMailer : public ::testing::Test {
 protected:
  void SetUp() override { storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_); }
  void queue(const std::string& channel) {
    OutboxMessage m = message_of(medan_out(), channel, channel == "webhook" ? "https://h.example/x" : "42", "en");
    m.message_id = channel + "-1@example.com";
    m.created_at = m.next_attempt_at = clock_.now();
    ASSERT_TRUE(storage_->commit_check(0, 0, {m}).ok());
  }
  OutboxMessage only() {
    auto all = storage_->list_outbox(true, 10);
    EXPECT_TRUE(all.ok() && all->size() == 1u);
    return all.ok() && !all->empty() ? all->front() : OutboxMessage{};
  }
  test::TempDir dir_{"channel-mailer"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  test::ScriptedTransport transport_;
};

// Hands the mailer's calls to a ScriptedChannel the test keeps.
class OneChannel : public Channel {
 public:
  explicit OneChannel(ScriptedChannel& s) : s_(s) {}
  SendOutcome deliver(const OutboxMessage& m) override { return s_.deliver(m); }

 private:
  ScriptedChannel& s_;
};

TEST_F(ChannelMailer, RetryAfterReplacesTheBackoff) {
  queue("webhook");
  ScriptedChannel scripted;
  SendOutcome busy{SendOutcome::Kind::kTransient, 429, "HTTP 429"};
  busy.retry_after = std::chrono::milliseconds(90s);
  scripted.outcomes.push_back(busy);
  auto set = Channels::with("webhook", std::make_unique<OneChannel>(scripted));
  Mailer mailer(*storage_, transport_, clock_, RetryPolicy{}, 1);
  mailer.set_channels(set.get());
  auto step = mailer.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->retried, 1);
  EXPECT_EQ(only().next_attempt_at, clock_.now() + 90s);  // exactly, no jitter
  clock_.advance(89s);
  EXPECT_EQ(mailer.process_due()->sent, 0);
  clock_.advance(1s);
  EXPECT_EQ(mailer.process_due()->sent, 1);
  EXPECT_EQ(scripted.calls.size(), 2u);
  EXPECT_EQ(only().state, OutboxState::kSent);
  EXPECT_TRUE(transport_.calls.empty());  // never through the mail transport
}

TEST_F(ChannelMailer, RetryAfterZeroWaitsASecond) {
  queue("webhook");
  ScriptedChannel scripted;
  SendOutcome busy{SendOutcome::Kind::kTransient, 503, "HTTP 503"};
  busy.retry_after = std::chrono::milliseconds(0);
  scripted.outcomes.push_back(busy);
  auto set = Channels::with("webhook", std::make_unique<OneChannel>(scripted));
  Mailer mailer(*storage_, transport_, clock_, RetryPolicy{}, 1);
  mailer.set_channels(set.get());
  EXPECT_EQ(mailer.process_due()->retried, 1);
  EXPECT_EQ(only().next_attempt_at, clock_.now() + 1s);
}

TEST_F(ChannelMailer, PermanentRefusalIsDeadAndRetryable) {
  queue("webhook");
  ScriptedChannel scripted;
  scripted.outcomes.push_back(
      {SendOutcome::Kind::kPermanent, 404, "webhook https://h.example/...: refused (HTTP 404)"});
  auto set = Channels::with("webhook", std::make_unique<OneChannel>(scripted));
  Mailer mailer(*storage_, transport_, clock_, RetryPolicy{}, 1);
  mailer.set_channels(set.get());
  EXPECT_EQ(mailer.process_due()->dead, 1);
  const OutboxMessage dead = only();
  EXPECT_EQ(dead.state, OutboxState::kDead);
  EXPECT_NE(dead.last_error.find("HTTP 404"), std::string::npos);
  ASSERT_TRUE(*storage_->requeue(dead.id, clock_.now()));
  EXPECT_EQ(mailer.process_due()->sent, 1);
}

TEST_F(ChannelMailer, AnUnconfiguredChannelSaysSo) {
  queue("telegram");
  Mailer mailer(*storage_, transport_, clock_, RetryPolicy{}, 1);
  auto set = Channels::from(Config{}, nullptr);  // no [telegram]
  mailer.set_channels(set.get());
  EXPECT_EQ(mailer.process_due()->dead, 1);
  EXPECT_NE(only().last_error.find("channel \"telegram\" is not configured"), std::string::npos);
}

}  // namespace
}  // namespace stockwatch

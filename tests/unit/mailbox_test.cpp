// Reports by email: reading mails with GMime (mailbox/mime_mail.hpp), the
// reply's rendering (notify/mail_reply.hpp), and the mailbox stage's
// exactly-once steps (mailbox/mailbox_stage.hpp) against a stand-in for the
// IMAP server (the real Dovecot runs in tests/e2e/test_mailbox.py) and a
// real SQLite database.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "crypto/sha256.hpp"
#include "mailbox/mailbox_stage.hpp"
#include "mailbox/mime_mail.hpp"
#include "notify/mail_reply.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\r\n";
    else out += c;
  }
  return out;
}

std::string csv_mail(std::string_view from, std::string_view id, std::string_view csv,
                     std::string_view extra_headers = "") {
  return crlf(std::string("From: Gudang <") + std::string(from) + ">\n" +
              "To: stok@example.com\nSubject: Laporan November\nMessage-ID: <" + std::string(id) +
              ">\n" + std::string(extra_headers) +
              "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
              "--b1\nContent-Type: text/plain; charset=utf-8\n\nTerlampir.\n"
              "--b1\nContent-Type: text/csv\nContent-Disposition: attachment; filename=\"medan.csv\"\n\n" +
              std::string(csv) + "--b1--\n");
}

class MimeTest : public ::testing::Test {
 protected:
  Result<ParsedMail> parse(const std::string& text) {
    test::write_file(dir_ / "mail.eml", text);
    fs::create_directories(dir_ / "out");
    return parse_mail(dir_ / "mail.eml", dir_ / "out", MailLimits{});
  }
  TempDir dir_{"mime"};
};

TEST_F(MimeTest, AnAttachedCsvIsWrittenDecodedAndTheBodyIsNot) {
  auto m = parse(csv_mail("Gudang.Medan@Example.com", "a1@example.com",
                          "store,item,count\nMedan,Robusta,3\n",
                          "References: <x0@example.com>\nIn-Reply-To: <x1@example.com>\n"));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->message_id, "a1@example.com");
  EXPECT_EQ(m->from, "gudang.medan@example.com");
  EXPECT_EQ(m->subject, "Laporan November");
  EXPECT_EQ(m->automated, "");
  EXPECT_EQ(m->references, (std::vector<std::string>{"x0@example.com", "x1@example.com"}));
  ASSERT_EQ(m->files.size(), 1u);
  EXPECT_EQ(m->files[0].name, "medan.csv");
  // The line end before the boundary belongs to the boundary (RFC 2046).
  EXPECT_EQ(test::read_file(m->files[0].file), "store,item,count\r\nMedan,Robusta,3");
}

TEST_F(MimeTest, EncodedFileNamesAndNestedMailsAreRead) {
  const std::string text = crlf(
      "From: a@example.com\nSubject: =?UTF-8?B?TGFwb3JhbiDwn5OI?=\nMessage-ID: <n1@example.com>\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"o\"\n\n"
      "--o\nContent-Type: text/csv; name=\"=?UTF-8?B?c3Rva19tw6lkYW4uY3N2?=\"\n"
      "Content-Transfer-Encoding: base64\n\nc3RvcmUsaXRlbSxjb3VudApNZWRhbixhLDEK\n"
      "--o\nContent-Type: text/csv\nContent-Disposition: attachment; "
      "filename*=UTF-8''gudang%20%C3%BCber.csv\n\nstore,item,count\n"
      "--o\nContent-Type: message/rfc822\n\n"
      "From: b@example.com\nSubject: inner\nMIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"i\"\n\n"
      "--i\nContent-Type: application/zip; name=\"all.zip\"\nContent-Transfer-Encoding: base64\n\n"
      "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\n--i--\n"
      "--o--\n");
  auto m = parse(text);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->subject, "Laporan \xF0\x9F\x93\x88");
  ASSERT_EQ(m->files.size(), 3u);
  EXPECT_EQ(m->files[0].name, "stok_m\xC3\xA9" "dan.csv");
  EXPECT_EQ(test::read_file(m->files[0].file), "store,item,count\nMedan,a,1\n");
  EXPECT_EQ(m->files[1].name, "gudang \xC3\xBC" "ber.csv");
  EXPECT_EQ(m->files[2].name, "all.zip");
  EXPECT_EQ(m->files[2].size, 22u);
}

TEST_F(MimeTest, BrokenMimeGivesWhatCanBeReadWithoutFailing) {
  for (const std::string& text :
       {std::string("no headers at all, just text\n"), std::string(""),
        crlf("From: a@example.com\nContent-Type: multipart/mixed; boundary=\"x\"\n\n--x\n"
             "Content-Type: text/csv; name=r.csv\nContent-Transfer-Encoding: base64\n\n!!!not base64"),
        crlf("From: a@example.com\nContent-Type: multipart/mixed\n\nno boundary\n"),
        std::string("From: \x01\xff\xfe@\n\n\xff\xfe")}) {
    auto m = parse(text);
    EXPECT_TRUE(m.ok()) << m.error().message();
  }
}

TEST_F(MimeTest, MailAMachineSentIsRecognised) {
  for (const auto& [header, why] : std::map<std::string, std::string>{
           {"Auto-Submitted: auto-replied\n", "Auto-Submitted"},
           {"Precedence: bulk\n", "Precedence"},
           {"Return-Path: <>\n", "Return-Path"},
           {"List-Id: <stok.example.com>\n", "List-Id"}}) {
    auto m = parse(csv_mail("a@example.com", "r@example.com", "x\n", header));
    ASSERT_TRUE(m.ok());
    EXPECT_NE(m->automated.find(why), std::string::npos) << header << " -> " << m->automated;
  }
  auto daemon = parse(csv_mail("MAILER-DAEMON@example.com", "d@example.com", "x\n"));
  EXPECT_FALSE(daemon->automated.empty());
  auto person = parse(csv_mail("a@example.com", "p@example.com", "x\n", "Auto-Submitted: no\n"));
  EXPECT_TRUE(person->automated.empty());
}

TEST(Authentication, OnlyTheConfiguredServersDmarcPassCounts) {
  ParsedMail m;
  m.from = "gudang@example.com";
  m.authentication_results = {"mx.kopi.example; spf=pass; dmarc=pass (p=reject) header.from=example.com"};
  EXPECT_TRUE(authenticated_by(m, "mx.kopi.example"));
  EXPECT_FALSE(authenticated_by(m, "other.example"));
  m.authentication_results = {"mx.kopi.example; dmarc=fail header.from=example.com"};
  EXPECT_FALSE(authenticated_by(m, "mx.kopi.example"));
  m.authentication_results = {"mx.kopi.example; dmarc=pass header.from=evil.example"};
  EXPECT_FALSE(authenticated_by(m, "mx.kopi.example"));
  // The topmost header of the server decides; a forged one below is ignored.
  m.authentication_results = {"mx.kopi.example; dmarc=none", "mx.kopi.example; dmarc=pass"};
  EXPECT_FALSE(authenticated_by(m, "mx.kopi.example"));
}

TEST(MailReply, ARejectionListsItsLinesInIndonesian) {
  MailReply r;
  r.subject = "Re: Laporan";
  r.in_reply_to = "a1@example.com";
  r.references = {"a1@example.com"};
  r.mailbox = "stok@example.com";
  MailReplyAttachment a;
  a.name = "medan.csv";
  a.outcome = MailOutcome::kRejected;
  a.report_id = 7;
  a.problems_text = "line 3, column count: '1O' is not a whole number";
  a.problems =
      R"({"total":1,"problems":[{"line":3,"column":"count","code":"count_not_whole","args":{"found":"1O"}}]})";
  r.attachments.push_back(a);
  auto decoded = decode_mail_reply(encode_mail_reply(r));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const RenderedText text = render_mail_reply(*decoded, catalog_for("id"));
  EXPECT_EQ(text.subject, "Re: Laporan");
  EXPECT_NE(text.body.find("medan.csv: ditolak"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find("baris 3"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find("'1O' bukan bilangan bulat"), std::string::npos) << text.body;

  OutboxMessage m;
  m.message_id = "reply@example.com";
  m.event = std::string(kMailReplyEvent);
  m.sender = "stok@example.com";
  m.recipient = "gudang@example.com";
  m.language = "id";
  m.payload = encode_mail_reply(r);
  auto email = render_email(m);
  ASSERT_TRUE(email.ok());
  EXPECT_NE(email->find("In-Reply-To: <a1@example.com>\r\n"), std::string::npos);
  EXPECT_NE(email->find("References: <a1@example.com>\r\n"), std::string::npos);
  EXPECT_NE(email->find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
}

// --- The stage, with a stand-in server ------------------------------------------

class FakeServer final : public MailboxServer {
 public:
  std::map<std::uint32_t, std::string> mails;
  std::set<std::uint32_t> handled;
  int fetches = 0;

  Result<std::vector<std::uint32_t>> unhandled() override {
    std::vector<std::uint32_t> out;
    for (const auto& [uid, text] : mails) {
      if (!handled.count(uid)) out.push_back(uid);
    }
    return out;
  }
  Result<std::uint64_t> size_of(std::uint32_t uid) override { return mails.at(uid).size(); }
  Status fetch(std::uint32_t uid, const fs::path& file, std::uint64_t) override {
    ++fetches;
    test::write_file(file, mails.at(uid));
    return {};
  }
  Result<std::string> fetch_header(std::uint32_t uid) override {
    const auto& m = mails.at(uid);
    return m.substr(0, m.find("\r\n\r\n") + 4);
  }
  Status mark_handled(std::uint32_t uid) override {
    handled.insert(uid);
    return {};
  }
  std::string describe() const override { return "fake"; }
};

class MailboxStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(inbox_);
    storage_ = Storage::open(dir_ / "db.sqlite", StorageOptions{}, clock_);
  }
  MailboxStageOptions options() {
    MailboxStageOptions o;
    o.mailbox.senders = {{"gudang.medan@example.com", {"Medan"}, "id"}};
    o.inbox = inbox_;
    o.reply_from = "stok@example.com";
    o.placed = [this](const std::string& p) { placed_.push_back(p); };
    return o;
  }
  // What the inbox would do: load each placed file into the ledger.
  void load_placed() {
    for (const auto& p : placed_) {
      const std::string content = test::read_file(inbox_ / p);
      test::load_rows(*storage_, clock_, {{"Medan", "Robusta", 0}}, p, Sha256::of(content));
      fs::remove(inbox_ / p);
    }
    placed_.clear();
  }
  std::vector<OutboxMessage> outbox() { return storage_->list_outbox(true, 100).value(); }

  TempDir dir_{"mailbox-stage"};
  fs::path inbox_ = dir_ / "inbox";
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  FakeServer server_;
  std::vector<std::string> placed_;
};

TEST_F(MailboxStageTest, AnAttachmentLoadsThenOneReplyAndOnlyThenTheMark) {
  server_.mails[1] = csv_mail("gudang.medan@example.com", "m1@example.com",
                              "store,item,count\nMedan,Robusta,0\n");
  MailboxStage stage(*storage_, server_, clock_, options());
  MailboxStep step = stage.step();
  EXPECT_TRUE(step.ok) << step.error;
  EXPECT_TRUE(step.waiting);
  ASSERT_EQ(placed_.size(), 1u);
  EXPECT_TRUE(placed_[0].starts_with("email/gudang.medan@example.com/"));
  EXPECT_TRUE(server_.handled.empty());   // not yet: the ledger has nothing
  EXPECT_TRUE(outbox().empty());

  load_placed();
  step = stage.step();
  EXPECT_EQ(step.replies, 1);
  EXPECT_EQ(step.handled, 1);
  EXPECT_EQ(server_.fetches, 1);          // read once, kept while waiting
  ASSERT_EQ(outbox().size(), 1u);
  const auto reply = decode_mail_reply(outbox()[0].payload);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->attachments.size(), 1u);
  EXPECT_EQ(reply->attachments[0].outcome, MailOutcome::kLoaded);
  EXPECT_EQ(reply->attachments[0].rows, 1);
  EXPECT_EQ(reply->attachments[0].events_total, 1);
  EXPECT_EQ(outbox()[0].language, "id");
  EXPECT_EQ(outbox()[0].recipient, "gudang.medan@example.com");
  EXPECT_EQ(stage.step().handled, 0);     // nothing left
}

TEST_F(MailboxStageTest, ACrashAtAnyPointLoadsOnceAndRepliesOnce) {
  server_.mails[1] = csv_mail("gudang.medan@example.com", "m2@example.com",
                              "store,item,count\nMedan,Robusta,0\n");
  {
    MailboxStage stage(*storage_, server_, clock_, options());
    (void)stage.step();   // recorded and placed, then "killed"
  }
  ASSERT_EQ(placed_.size(), 1u);
  {
    // Restarted before the inbox loaded it: the file is still there, so
    // it is not placed again.
    std::vector<std::string> before = placed_;
    MailboxStage stage(*storage_, server_, clock_, options());
    EXPECT_TRUE(stage.step().waiting);
    EXPECT_EQ(placed_, before);
  }
  load_placed();
  {
    // Killed after the reply was queued, before the server's mark.
    MailboxStage stage(*storage_, server_, clock_, options());
    MailboxServer& real = server_;
    struct NoMark final : MailboxServer {
      MailboxServer& s;
      explicit NoMark(MailboxServer& x) : s(x) {}
      Result<std::vector<std::uint32_t>> unhandled() override { return s.unhandled(); }
      Result<std::uint64_t> size_of(std::uint32_t u) override { return s.size_of(u); }
      Status fetch(std::uint32_t u, const fs::path& f, std::uint64_t m) override { return s.fetch(u, f, m); }
      Result<std::string> fetch_header(std::uint32_t u) override { return s.fetch_header(u); }
      Status mark_handled(std::uint32_t) override { return Error(ErrorCode::kTransient, "cut"); }
      std::string describe() const override { return "no mark"; }
    } cut(real);
    MailboxStage cut_stage(*storage_, cut, clock_, options());
    EXPECT_FALSE(cut_stage.step().ok);
  }
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_TRUE(server_.handled.empty());
  MailboxStage stage(*storage_, server_, clock_, options());
  const MailboxStep step = stage.step();
  EXPECT_EQ(step.handled, 1);
  EXPECT_EQ(step.replies, 0);
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_EQ(storage_->recent_reports(10)->size(), 1u);
}

TEST_F(MailboxStageTest, StrangersAreRefusedOnceAndMachinesNeverAnswered) {
  server_.mails[1] = csv_mail("someone@example.org", "s1@example.org", "store,item,count\n");
  server_.mails[2] = csv_mail("someone@example.org", "s2@example.org", "store,item,count\n",
                              "Auto-Submitted: auto-replied\n");
  server_.mails[3] = csv_mail("gudang.medan@example.com", "s3@example.com", "x\n",
                              "Precedence: junk\n");
  MailboxStage stage(*storage_, server_, clock_, options());
  MailboxStep step = stage.step();
  EXPECT_TRUE(step.ok) << step.error;
  EXPECT_EQ(step.handled, 2);   // the listed sender's mail waits for its attachment
  ASSERT_EQ(outbox().size(), 1u);
  EXPECT_EQ(outbox()[0].recipient, "someone@example.org");
  EXPECT_EQ(decode_mail_reply(outbox()[0].payload)->kind, MailReplyKind::kRefused);
  load_placed();
  step = stage.step();
  EXPECT_EQ(step.handled, 1);
  EXPECT_EQ(outbox().size(), 1u);   // the auto-submitted one: loaded, never answered
}

TEST_F(MailboxStageTest, ForeignStoresAndNonReportsAreAnsweredWithoutLoading) {
  const std::string text = crlf(
      "From: gudang.medan@example.com\nSubject: x\nMessage-ID: <f1@example.com>\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
      "--b\nContent-Type: text/csv; name=\"lain.csv\"\n\nstore,item,count\nMedan,a,1\nBinjai,b,2\n"
      "--b\nContent-Type: application/zip; name=\"all.zip\"\n\nPK\n--b--\n");
  server_.mails[1] = text;
  MailboxStage stage(*storage_, server_, clock_, options());
  const MailboxStep step = stage.step();
  EXPECT_EQ(step.handled, 1);
  EXPECT_TRUE(placed_.empty());
  const auto reply = decode_mail_reply(outbox().at(0).payload);
  ASSERT_EQ(reply->attachments.size(), 2u);
  EXPECT_EQ(reply->attachments[0].outcome, MailOutcome::kForeignStore);
  EXPECT_EQ(reply->attachments[0].store, "Binjai");
  EXPECT_EQ(reply->attachments[0].line, 3);
  EXPECT_EQ(reply->attachments[1].outcome, MailOutcome::kNotReport);
  const auto body = render_mail_reply(*reply, catalog_for("en")).body;
  EXPECT_NE(body.find("line 3 is for the store 'Binjai'"), std::string::npos) << body;
}

TEST_F(MailboxStageTest, AStepCountsWhatItSawLoadedRefusedAndAnswered) {
  server_.mails[1] = csv_mail("someone@example.org", "c1@example.org", "store,item,count\n");
  server_.mails[2] = csv_mail("gudang.medan@example.com", "c2@example.com",
                              "store,item,count\nMedan,Robusta,0\n");
  MailboxStage stage(*storage_, server_, clock_, options());
  MailboxStep step = stage.step();
  EXPECT_EQ(step.seen, 2);
  EXPECT_EQ(step.loaded, 1);
  EXPECT_EQ(step.refused, 1);
  EXPECT_EQ(step.replies, 1);
  EXPECT_FALSE(step.server_failed);
  load_placed();
  step = stage.step();
  EXPECT_EQ(step.seen, 0);      // kept while it waited: not read again
  EXPECT_EQ(step.refused, 0);
  EXPECT_EQ(step.replies, 1);

  // The server failing is told apart from the database.
  struct Down final : MailboxServer {
    Result<std::vector<std::uint32_t>> unhandled() override {
      return Error(ErrorCode::kTransient, "IMAP: Couldn't connect to server");
    }
    Result<std::uint64_t> size_of(std::uint32_t) override { return 0; }
    Status fetch(std::uint32_t, const fs::path&, std::uint64_t) override { return {}; }
    Result<std::string> fetch_header(std::uint32_t) override { return std::string(); }
    Status mark_handled(std::uint32_t) override { return {}; }
    std::string describe() const override { return "down"; }
  } down;
  MailboxStage failing(*storage_, down, clock_, options());
  step = failing.step();
  EXPECT_FALSE(step.ok);
  EXPECT_TRUE(step.server_failed);
}

TEST_F(MailboxStageTest, AReloadedSenderListAppliesToTheNextMail) {
  server_.mails[1] = csv_mail("gudang.lampung@example.com", "r1@example.com",
                              "store,item,count\nLampung,Robusta,0\n");
  MailboxStage stage(*storage_, server_, clock_, options());
  auto more = options();
  more.mailbox.senders.push_back({"gudang.lampung@example.com", {"Lampung"}, "en"});
  stage.reload(more);
  const MailboxStep step = stage.step();
  EXPECT_EQ(step.refused, 0);
  ASSERT_EQ(placed_.size(), 1u);
  EXPECT_TRUE(placed_[0].starts_with("email/gudang.lampung@example.com/"));
}

}  // namespace
}  // namespace stockwatch

namespace stockwatch {
namespace {

TEST(MailboxConfig, SettingsAreReadAndBadOnesNamed) {
  const std::string base = R"(
[[alerts.subscription]]
email = "owner@example.com"
)";
  auto ok = parse_config(base + R"(
[mailbox]
url = "imaps://imap.example.com/INBOX"
username = "stok"
poll_interval_s = 30
trust = "authentication-results"
authserv_id = "mx.example.com"
[[mailbox.sender]]
address = "Gudang.Medan@example.com"
stores = ["Medan"]
language = "id"
[[mailbox.sender]]
address = "binjai@example.com"
)", "t.toml", "/tmp");
  ASSERT_TRUE(ok.ok()) << ok.problems.front().to_string();
  EXPECT_EQ(ok.config.mailbox.poll_interval_s, 30);
  ASSERT_EQ(ok.config.mailbox.senders.size(), 2u);
  EXPECT_EQ(ok.config.mailbox.senders[0].language, "id");
  EXPECT_EQ(ok.config.mailbox.senders[1].language, "");
  EXPECT_EQ(ok.config.mailbox.max_attachment_bytes, 50u * 1024 * 1024);

  auto bad = parse_config(base + R"(
[mailbox]
url = "pop3://mail.example.com"
trust = "authentication-results"
[[mailbox.sender]]
address = "a@example.com"
[[mailbox.sender]]
address = "A@example.com"
language = "fr"
)", "t.toml", "/tmp");
  std::string all;
  for (const auto& p : bad.problems) all += p.to_string() + "\n";
  EXPECT_NE(all.find("mailbox.url"), std::string::npos) << all;
  EXPECT_NE(all.find("mailbox.username"), std::string::npos) << all;
  EXPECT_NE(all.find("mailbox.authserv_id"), std::string::npos) << all;
  EXPECT_NE(all.find("is listed twice"), std::string::npos) << all;
  EXPECT_NE(all.find("mailbox.sender[1].language"), std::string::npos) << all;
}

TEST(MailReply, EveryKindReadsInBothLanguages) {
  for (const char* lang : {"en", "id"}) {
    for (auto kind : {MailReplyKind::kHowTo, MailReplyKind::kRefused, MailReplyKind::kUnverified,
                      MailReplyKind::kTooLarge}) {
      MailReply r;
      r.kind = kind;
      r.subject = "";
      r.mailbox = "stok@example.com";
      r.sender = "x@example.org";
      r.size = 120u * 1024 * 1024;
      r.limit = 100u * 1024 * 1024;
      const auto text = render_mail_reply(r, catalog_for(lang));
      EXPECT_EQ(text.body.find("mail.reply"), std::string::npos) << text.body;
      EXPECT_EQ(text.body.find('{'), std::string::npos) << text.body;
      EXPECT_FALSE(text.subject.empty());
    }
  }
}

}  // namespace
}  // namespace stockwatch

// The checker: change records and rejected reports into queued alert emails,
// per subscription, with stable Message-IDs and a durable cursor.
#include "pipeline/checker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "notify/alert.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

struct Row {
  std::string store;
  std::string item;
  std::int64_t count;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The body of a rendered message, quoted-printable decoded, as lines.
// A multipart/alternative message's text/plain part.
std::vector<std::string> body_lines(const std::string& data) {
  const auto part = data.find("Content-Type: text/plain");
  const auto start = data.find("\r\n\r\n", part == std::string::npos ? 0 : part);
  if (start == std::string::npos) return {};
  const auto end = data.find("\r\n--=_stockwatch_alt_", start);
  const std::string qp =
      data.substr(start + 4, end == std::string::npos ? std::string::npos : end - start - 4);
  std::string text;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp.compare(i, 3, "=\r\n") == 0) {
      i += 2;  // soft line break
    } else if (qp[i] == '=' && i + 2 < qp.size() && hex_value(qp[i + 1]) >= 0 &&
               hex_value(qp[i + 2]) >= 0) {
      text += static_cast<char>(hex_value(qp[i + 1]) * 16 + hex_value(qp[i + 2]));
      i += 2;
    } else {
      text += qp[i];
    }
  }
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

// The messages as they are sent and listed: each one's email rendered from
// its event data into `data`, and its listed subject into `subject`.
std::vector<OutboxMessage> rendered(std::vector<OutboxMessage> msgs) {
  for (auto& m : msgs) {
    auto email = render_email(m);
    EXPECT_TRUE(email.ok()) << email.error().message();
    if (email.ok()) m.data = *email;
    m.subject = outbox_subject(m);
  }
  return msgs;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::size_t lines_containing(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
    return l.find(part) != std::string::npos;
  }));
}

Subscription sub(std::vector<std::string> emails, std::vector<std::string> stores = {},
                 std::vector<std::string> events = {}) {
  return Subscription{std::move(emails), std::move(stores), std::move(events)};
}

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_);
    config_.from = "stockwatch@example.com";
    config_.subscriptions = {sub({"owner@example.com"})};
  }

  // One committed report; returns its ledger id.
  std::int64_t load(const std::vector<Row>& rows, const std::string& path) {
    auto begun = storage_->begin_report();
    EXPECT_TRUE(begun.ok()) << begun.error().message();
    if (!begun.ok()) return 0;
    ReportLoad txn = std::move(begun).value();
    for (const auto& r : rows) EXPECT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
    ReportRecord rec;
    rec.path = path;
    rec.sha256 = "sha-" + path;
    rec.received_at = clock_.now();
    rec.finished_at = clock_.now();
    auto id = txn.commit(rec);
    EXPECT_TRUE(id.ok()) << id.error().message();
    return id.ok() ? *id : 0;
  }

  std::int64_t reject(const std::string& path, const std::string& error) {
    ReportRecord rec;
    rec.path = path;
    rec.sha256 = "sha-" + path;
    rec.status = ReportStatus::kRejected;
    rec.error = error;
    rec.received_at = clock_.now();
    rec.finished_at = clock_.now();
    auto id = storage_->record_report(rec);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  int process(Checker& checker) {
    auto n = checker.process_due();
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? *n : -1;
  }

  // Everything in the outbox, oldest first.
  std::vector<OutboxMessage> outbox() {
    auto all = storage_->list_outbox(true, 100000);
    EXPECT_TRUE(all.ok());
    std::vector<OutboxMessage> out = all.ok() ? rendered(*all) : std::vector<OutboxMessage>{};
    std::reverse(out.begin(), out.end());
    return out;
  }

  std::vector<OutboxMessage> outbox_for(const std::string& recipient) {
    std::vector<OutboxMessage> out;
    for (auto& m : outbox()) {
      if (m.recipient == recipient) out.push_back(m);
    }
    return out;
  }

  TempDir dir_{"checker"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  AlertsConfig config_;
};

TEST_F(CheckerTest, OneMessagePerReportPerRecipientListingEveryItem) {
  config_.subscriptions = {sub({"owner@example.com", "buyer@example.com"})};
  Checker checker(*storage_, clock_, config_);
  const auto id = load({{"Medan", "Robusta Dairi", 0},
                        {"Medan", "Arabica Gayo", 0},
                        {"Medan", "Kopi Luwak", 5}},
                       "2026-11-medan.csv");
  EXPECT_EQ(process(checker), 2);

  const auto all = outbox();
  ASSERT_EQ(all.size(), 2u);
  std::set<std::string> recipients;
  for (const auto& m : all) {
    recipients.insert(m.recipient);
    EXPECT_EQ(m.event, "out_of_stock");
    EXPECT_EQ(m.report_id, id);
    EXPECT_EQ(m.sender, "stockwatch@example.com");
    EXPECT_EQ(m.subject, "Inventory Alert! Medan: 2 items out of stock");
    EXPECT_EQ(m.state, OutboxState::kQueued);
    EXPECT_EQ(m.next_attempt_at, clock_.now());
    EXPECT_NE(m.data.find("Subject: Inventory Alert! Medan: 2 items out of stock\r\n"),
              std::string::npos);
    EXPECT_NE(m.data.find("To: " + m.recipient + "\r\n"), std::string::npos);
    EXPECT_NE(m.data.find("Message-ID: <" + m.message_id + ">\r\n"), std::string::npos);
    const auto lines = body_lines(m.data);
    EXPECT_TRUE(has_line(lines, "Medan is out of stock of Robusta Dairi")) << m.data;
    EXPECT_TRUE(has_line(lines, "Medan is out of stock of Arabica Gayo")) << m.data;
    EXPECT_EQ(lines_containing(lines, "out of stock"), 2u) << m.data;
    EXPECT_EQ(lines_containing(lines, "Kopi Luwak"), 0u) << m.data;
    EXPECT_EQ(lines_containing(lines, "2026-11-medan.csv"), 1u) << m.data;
  }
  EXPECT_EQ(recipients, (std::set<std::string>{"owner@example.com", "buyer@example.com"}));
  EXPECT_NE(all[0].message_id, all[1].message_id);
}

TEST_F(CheckerTest, TwoReportsGiveTwoMessages) {
  Checker checker(*storage_, clock_, config_);
  const auto a = load({{"Medan", "Robusta Dairi", 0}}, "a.csv");
  const auto b = load({{"Makassar", "Toraja", 0}}, "b.csv");
  EXPECT_EQ(process(checker), 2);
  const auto all = outbox();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].report_id, a);
  EXPECT_TRUE(has_line(body_lines(all[0].data), "Medan is out of stock of Robusta Dairi"));
  EXPECT_EQ(all[1].report_id, b);
  EXPECT_TRUE(has_line(body_lines(all[1].data), "Makassar is out of stock of Toraja"));
  EXPECT_EQ(lines_containing(body_lines(all[1].data), "Robusta"), 0u);
}

TEST_F(CheckerTest, NoMessageWhenNothingWentToZero) {
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 4}, {"Medan", "Arabica Gayo", 7}}, "a.csv");
  EXPECT_EQ(process(checker), 0);
  EXPECT_TRUE(outbox().empty());
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());  // handled, not left pending

  // A count going from above 0 to 0 is out of stock; staying at 0 is not news.
  load({{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabica Gayo", 7}}, "b.csv");
  EXPECT_EQ(process(checker), 1);
  load({{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabica Gayo", 6}}, "c.csv");
  EXPECT_EQ(process(checker), 0);
  const auto all = outbox();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(has_line(body_lines(all[0].data), "Medan is out of stock of Robusta Dairi"));
}

TEST_F(CheckerTest, StoreFiltersPickTheLinesEachRecipientGets) {
  config_.subscriptions = {sub({"medan@example.com"}, {"Medan"}),
                           sub({"makassar@example.com"}, {"Makassar"}),
                           sub({"boss@example.com"})};
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}, {"Makassar", "Toraja", 0}}, "a.csv");
  EXPECT_EQ(process(checker), 3);

  const auto medan = outbox_for("medan@example.com");
  ASSERT_EQ(medan.size(), 1u);
  EXPECT_TRUE(has_line(body_lines(medan[0].data), "Medan is out of stock of Robusta Dairi"));
  EXPECT_EQ(lines_containing(body_lines(medan[0].data), "Toraja"), 0u);

  const auto makassar = outbox_for("makassar@example.com");
  ASSERT_EQ(makassar.size(), 1u);
  EXPECT_TRUE(has_line(body_lines(makassar[0].data), "Makassar is out of stock of Toraja"));
  EXPECT_EQ(lines_containing(body_lines(makassar[0].data), "Robusta"), 0u);

  const auto boss = outbox_for("boss@example.com");
  ASSERT_EQ(boss.size(), 1u);
  EXPECT_EQ(lines_containing(body_lines(boss[0].data), "out of stock"), 2u);

  // A report touching only Makassar sends nothing to Medan.
  load({{"Makassar", "Kalosi", 0}}, "b.csv");
  EXPECT_EQ(process(checker), 2);
  EXPECT_EQ(outbox_for("medan@example.com").size(), 1u);
}

TEST_F(CheckerTest, ARecipientInTwoSubscriptionsGetsOneMessageWithBoth) {
  config_.subscriptions = {sub({"owner@example.com"}, {"Medan"}),
                           sub({"owner@example.com"}, {"Makassar"})};
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}, {"Makassar", "Toraja", 0}, {"Padang", "Solok", 0}},
       "a.csv");
  EXPECT_EQ(process(checker), 1);
  const auto all = outbox();
  ASSERT_EQ(all.size(), 1u);
  const auto lines = body_lines(all[0].data);
  EXPECT_TRUE(has_line(lines, "Medan is out of stock of Robusta Dairi"));
  EXPECT_TRUE(has_line(lines, "Makassar is out of stock of Toraja"));
  EXPECT_EQ(lines_containing(lines, "Padang"), 0u);
}

TEST_F(CheckerTest, EventFiltersPickTheEventsEachRecipientGets) {
  config_.back_in_stock = true;
  config_.subscriptions = {sub({"oos@example.com"}, {}, {"out_of_stock"}),
                           sub({"back@example.com"}, {}, {"back_in_stock"}),
                           sub({"ops@example.com"}, {}, {"report_rejected"})};
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}}, "a.csv");
  load({{"Medan", "Robusta Dairi", 9}, {"Medan", "Arabica Gayo", 0}}, "b.csv");
  reject("bad.csv", "the report is empty");
  process(checker);

  const auto oos = outbox_for("oos@example.com");
  ASSERT_EQ(oos.size(), 2u);
  for (const auto& m : oos) EXPECT_EQ(m.event, "out_of_stock");

  const auto back = outbox_for("back@example.com");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].event, "back_in_stock");
  EXPECT_TRUE(has_line(body_lines(back[0].data), "Medan has Robusta Dairi back in stock (9)"));

  const auto ops = outbox_for("ops@example.com");
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].event, "report_rejected");
}

TEST_F(CheckerTest, GroupByItemGivesOneMessagePerItem) {
  config_.group = "item";
  config_.subscriptions = {sub({"owner@example.com", "buyer@example.com"})};
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabica Gayo", 0}, {"Medan", "Kopi", 1}},
       "a.csv");
  EXPECT_EQ(process(checker), 4);
  const auto owner = outbox_for("owner@example.com");
  ASSERT_EQ(owner.size(), 2u);
  std::set<std::string> sentences;
  for (const auto& m : owner) {
    const auto lines = body_lines(m.data);
    ASSERT_EQ(lines_containing(lines, "out of stock"), 1u) << m.data;
    for (const auto& l : lines) {
      if (l.find("out of stock") != std::string::npos) sentences.insert(l);
    }
  }
  EXPECT_EQ(sentences, (std::set<std::string>{"Medan is out of stock of Robusta Dairi",
                                              "Medan is out of stock of Arabica Gayo"}));
  std::set<std::string> ids;
  for (const auto& m : outbox()) ids.insert(m.message_id);
  EXPECT_EQ(ids.size(), 4u);
}

TEST_F(CheckerTest, BackInStockOnlyWhenEnabled) {
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}}, "a.csv");
  EXPECT_EQ(process(checker), 1);
  load({{"Medan", "Robusta Dairi", 12}}, "b.csv");
  EXPECT_EQ(process(checker), 0);  // back_in_stock is off by default
  EXPECT_EQ(outbox().size(), 1u);

  config_.back_in_stock = true;
  checker.set_config(config_);
  load({{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabica Gayo", 0}}, "c.csv");
  load({{"Medan", "Robusta Dairi", 3}, {"Medan", "Arabica Gayo", 0}, {"Medan", "Toraja", 0}},
       "d.csv");
  EXPECT_EQ(process(checker), 3);  // c: out of stock; d: back in stock + out of stock
  const auto all = outbox();
  ASSERT_EQ(all.size(), 4u);
  int back = 0;
  for (const auto& m : all) {
    const auto lines = body_lines(m.data);
    if (m.event == "back_in_stock") {
      ++back;
      EXPECT_TRUE(has_line(lines, "Medan has Robusta Dairi back in stock (3)")) << m.data;
      EXPECT_EQ(lines_containing(lines, "out of stock"), 0u) << m.data;
    } else {
      EXPECT_EQ(m.event, "out_of_stock");
      EXPECT_EQ(lines_containing(lines, "back in stock"), 0u) << m.data;
    }
  }
  EXPECT_EQ(back, 1);
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const OutboxMessage& m) {
    return m.event == "out_of_stock" &&
           has_line(body_lines(m.data), "Medan is out of stock of Toraja");
  }));
}

TEST_F(CheckerTest, RejectedReportsGiveOneMessageEachWhenEnabled) {
  config_.subscriptions = {sub({"owner@example.com", "ops@example.com"})};
  Checker checker(*storage_, clock_, config_);
  const auto a = reject("2026-11-medan.csv",
                        "line 3, column count: '-1' is negative; a count is 0 or more");
  const auto b = reject("2026-11-makassar.csv", "the report is empty");
  EXPECT_EQ(process(checker), 4);
  const auto owner = outbox_for("owner@example.com");
  ASSERT_EQ(owner.size(), 2u);
  EXPECT_EQ(owner[0].event, "report_rejected");
  EXPECT_EQ(owner[0].report_id, a);
  EXPECT_EQ(owner[0].subject, "Inventory Alert! Report rejected: 2026-11-medan.csv");
  const auto lines = body_lines(owner[0].data);
  EXPECT_TRUE(has_line(lines, "line 3, column count: '-1' is negative; a count is 0 or more"))
      << owner[0].data;
  EXPECT_EQ(owner[1].report_id, b);
  EXPECT_TRUE(has_line(body_lines(owner[1].data), "the report is empty"));
  EXPECT_EQ(outbox_for("ops@example.com").size(), 2u);

  EXPECT_EQ(process(checker), 0);
}

TEST_F(CheckerTest, NoRejectionMessagesWhenDisabled) {
  config_.notify_rejected = false;
  Checker checker(*storage_, clock_, config_);
  reject("bad.csv", "the report is empty");
  EXPECT_EQ(process(checker), 0);
  EXPECT_TRUE(outbox().empty());
  auto pending = storage_->next_pending_rejection();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());  // handled: not alerted later either

  auto msgs = rendered(checker.messages_for_rejection(ReportRecord{}));
  EXPECT_TRUE(msgs.empty());
}

TEST_F(CheckerTest, ProcessDueTwiceQueuesNothingTheSecondTime) {
  config_.back_in_stock = true;
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}}, "a.csv");
  reject("bad.csv", "the report is empty");
  const int first = process(checker);
  EXPECT_EQ(first, 2);
  clock_.advance(5min);
  EXPECT_EQ(process(checker), 0);
  EXPECT_EQ(outbox().size(), 2u);

  // A new Checker (a restart) starts from the durable cursor.
  Checker restarted(*storage_, clock_, config_);
  EXPECT_EQ(process(restarted), 0);
  EXPECT_EQ(outbox().size(), 2u);
}

TEST_F(CheckerTest, MessageIdsAreStable) {
  config_.subscriptions = {sub({"owner@example.com", "buyer@example.com"})};
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}}, "a.csv");
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok() && pending->has_value());

  const auto first = rendered(checker.messages_for(**pending));
  clock_.advance(1h);
  const auto again = rendered(checker.messages_for(**pending));
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(again.size(), 2u);
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].message_id, again[i].message_id);
    EXPECT_EQ(first[i].recipient, again[i].recipient);
  }
  EXPECT_NE(first[0].message_id, first[1].message_id);  // per recipient

  // A step that queued its messages but stopped before moving the cursor:
  // repeating it queues nothing twice.
  ASSERT_TRUE(storage_->commit_check(0, 0, first).ok());
  (void)process(checker);
  const auto all = outbox();
  ASSERT_EQ(all.size(), 2u);
  std::set<std::string> ids;
  for (const auto& m : all) ids.insert(m.message_id);
  EXPECT_EQ(ids, (std::set<std::string>{first[0].message_id, first[1].message_id}));

  // A different report gets different ids.
  load({{"Medan", "Arabica Gayo", 0}}, "b.csv");
  auto next = storage_->next_pending_changes();
  ASSERT_TRUE(next.ok() && next->has_value());
  const auto other = rendered(checker.messages_for(**next));
  ASSERT_EQ(other.size(), 2u);
  EXPECT_FALSE(ids.count(other[0].message_id));
  EXPECT_FALSE(ids.count(other[1].message_id));

  // Rejection ids are stable too, and differ from change ids.
  ReportRecord rep;
  rep.id = 7;
  rep.path = "bad.csv";
  rep.error = "the report is empty";
  const auto r1 = rendered(checker.messages_for_rejection(rep));
  clock_.advance(1h);
  const auto r2 = rendered(checker.messages_for_rejection(rep));
  ASSERT_EQ(r1.size(), 2u);
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r1[0].message_id, r2[0].message_id);
  EXPECT_EQ(r1[1].message_id, r2[1].message_id);
}

// alerts.subject starts a rejection's subject as it starts a stock alert's,
// in both languages: the default (English) one only English subjects, so an
// Indonesian one starts with what happened; one the owner set, every subject
// in every language (docs/alerts.md, "Language").
TEST_F(CheckerTest, RejectionSubjectsTakeAlertsSubjectAsStockAlertsDo) {
  Subscription en = sub({"owner@example.com"});
  Subscription id = sub({"gudang@example.com"});
  en.language = "en";
  id.language = "id";
  config_.subscriptions = {en, id};
  ReportRecord rep;
  rep.id = 4;
  rep.path = "medan.csv";
  rep.error = "the report is empty";
  PendingChanges out;
  out.report_id = 3;
  out.report_path = "medan.csv";
  out.events = {ChangeRecord{}};
  out.events[0].store = "Medan";
  out.events[0].item = "Robusta Dairi";
  out.events[0].old_count = 5;
  out.events[0].new_count = 0;
  out.events[0].event = EventKind::kOutOfStock;
  const auto subjects = [&](const std::vector<OutboxMessage>& msgs) {
    std::map<std::string, std::string> by_recipient;
    for (const auto& m : rendered(msgs)) by_recipient[m.recipient] = m.subject;
    return by_recipient;
  };
  {
    Checker checker(*storage_, clock_, config_);
    const auto rejected = subjects(checker.messages_for_rejection(rep));
    const auto stock = subjects(checker.messages_for(out));
    EXPECT_EQ(rejected.at("owner@example.com"), "Inventory Alert! Report rejected: medan.csv");
    EXPECT_EQ(stock.at("owner@example.com"), "Inventory Alert! Medan: Robusta Dairi is out of stock");
    EXPECT_EQ(rejected.at("gudang@example.com"), "Laporan ditolak: medan.csv");
    EXPECT_EQ(stock.at("gudang@example.com"), "Stok habis: Medan, Robusta Dairi");
  }
  config_.subject = "[Kopi Nusantara]";
  Checker checker(*storage_, clock_, config_);
  const auto rejected = subjects(checker.messages_for_rejection(rep));
  const auto stock = subjects(checker.messages_for(out));
  EXPECT_EQ(rejected.at("owner@example.com"), "[Kopi Nusantara] Report rejected: medan.csv");
  EXPECT_EQ(stock.at("owner@example.com"), "[Kopi Nusantara] Medan: Robusta Dairi is out of stock");
  EXPECT_EQ(rejected.at("gudang@example.com"), "[Kopi Nusantara] Laporan ditolak: medan.csv");
  EXPECT_EQ(stock.at("gudang@example.com"), "[Kopi Nusantara] Stok habis: Medan, Robusta Dairi");
}

TEST_F(CheckerTest, ReportTextCannotAddHeaders) {
  Checker checker(*storage_, clock_, config_);
  ReportRecord rep;
  rep.id = 3;
  rep.path = "bad.csv\r\nBcc: thief@example.com";
  rep.error = "the report is empty";
  const auto msgs = rendered(checker.messages_for_rejection(rep));
  ASSERT_EQ(msgs.size(), 1u);
  const std::string& data = msgs[0].data;
  const std::string headers = data.substr(0, data.find("\r\n\r\n"));
  EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos) << headers;
}

TEST_F(CheckerTest, NoSubscriptionsMeansNoMessagesButTheCursorMoves) {
  config_.subscriptions.clear();
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}}, "a.csv");
  reject("bad.csv", "the report is empty");
  EXPECT_EQ(process(checker), 0);
  EXPECT_TRUE(outbox().empty());
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
}

TEST_F(CheckerTest, ReportSubjectsSummariseWhatEachRecipientGets) {
  config_.subscriptions = {sub({"owner@example.com"}), sub({"medan@example.com"}, {"Medan"}),
                           sub({"bali@example.com"}, {"Bali"})};
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0},
        {"Medan", "Arabica Gayo", 0},
        {"Medan", "Kopi Luwak", 0},
        {"Makassar", "Arabika Kalosi", 0},
        {"Bali", "Kintamani", 0},
        {"Bali", "Kopi Bali", 4}},
       "2026-11.csv");
  EXPECT_EQ(process(checker), 3);
  const auto owner = outbox_for("owner@example.com");
  const auto medan = outbox_for("medan@example.com");
  const auto bali = outbox_for("bali@example.com");
  ASSERT_EQ(owner.size(), 1u);
  ASSERT_EQ(medan.size(), 1u);
  ASSERT_EQ(bali.size(), 1u);
  EXPECT_EQ(owner[0].subject, "Inventory Alert! 3 stores, 5 items out of stock");
  EXPECT_EQ(medan[0].subject, "Inventory Alert! Medan: 3 items out of stock");
  EXPECT_EQ(bali[0].subject, "Inventory Alert! Bali: Kintamani is out of stock");
  EXPECT_NE(bali[0].data.find("Subject: Inventory Alert! Bali: Kintamani is out of stock\r\n"),
            std::string::npos)
      << bali[0].data;
}

TEST_F(CheckerTest, ItemGroupingKeepsThePlainSubject) {
  config_.group = "item";
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}, {"Makassar", "Arabika Kalosi", 0}}, "a.csv");
  EXPECT_EQ(process(checker), 2);
  for (const auto& m : outbox()) {
    EXPECT_EQ(m.subject, "Inventory Alert!");
    EXPECT_NE(m.data.find("Subject: Inventory Alert!\r\n"), std::string::npos) << m.data;
  }
}

TEST_F(CheckerTest, BackInStockSubjectSaysSo) {
  config_.back_in_stock = true;
  Checker checker(*storage_, clock_, config_);
  load({{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabica Gayo", 0}}, "a.csv");
  load({{"Medan", "Robusta Dairi", 12}}, "b.csv");
  load({{"Medan", "Robusta Dairi", 0}}, "c.csv");
  load({{"Medan", "Robusta Dairi", 3}, {"Medan", "Arabica Gayo", 7}}, "d.csv");
  EXPECT_EQ(process(checker), 4);
  std::vector<std::string> subjects;
  for (const auto& m : outbox()) subjects.push_back(m.event + " | " + m.subject);
  EXPECT_EQ(subjects, (std::vector<std::string>{
                          "out_of_stock | Inventory Alert! Medan: 2 items out of stock",
                          "back_in_stock | Inventory Alert! Medan: Robusta Dairi is back in stock",
                          "out_of_stock | Inventory Alert! Medan: Robusta Dairi is out of stock",
                          "back_in_stock | Inventory Alert! Medan: 2 items back in stock"}));
}

TEST_F(CheckerTest, AStoreNameCannotAddHeadersThroughTheSubjectSummary) {
  Checker checker(*storage_, clock_, config_);
  PendingChanges p;
  p.report_id = 9;
  p.report_path = "medan.csv";
  p.last_seq = 1;
  ChangeRecord c;
  c.seq = 1;
  c.store = "Medan\r\nBcc: evil@example.com";
  c.item = "Robusta Dairi\nX-Evil: 1";
  c.new_count = 0;
  c.old_count = 4;
  c.kind = ChangeKind::kModify;
  c.report_id = 9;
  c.event = EventKind::kOutOfStock;
  p.events.push_back(c);
  const auto msgs = rendered(checker.messages_for(p));
  ASSERT_EQ(msgs.size(), 1u);
  const std::string& data = msgs[0].data;
  const std::string headers = data.substr(0, data.find("\r\n\r\n") + 2);
  EXPECT_EQ(headers.find("\nBcc:"), std::string::npos) << headers;
  EXPECT_EQ(headers.find("\nX-Evil:"), std::string::npos) << headers;
  // The long subject is folded; unfolded, it is one line.
  std::string unfolded = headers;
  for (auto pos = unfolded.find("\r\n "); pos != std::string::npos; pos = unfolded.find("\r\n ")) {
    unfolded.erase(pos, 2);
  }
  EXPECT_NE(unfolded.find(
                "\r\nSubject: Inventory Alert! Medan??Bcc: evil@example.com: Robusta Dairi?X-Evil: "
                "1 is out of stock\r\n"),
            std::string::npos)
      << headers;
  EXPECT_TRUE(has_line(body_lines(data),
                       "Medan??Bcc: evil@example.com is out of stock of Robusta Dairi?X-Evil: 1"))
      << data;
}

}  // namespace
}  // namespace stockwatch

namespace stockwatch {
namespace {

// A report with more out-of-stock items than one message lists: the first
// ones are listed, the rest counted, and memory does not grow with them.
TEST(CheckerCap, HugeReportsListTheFirstItemsAndCountTheRest) {
  ManualClock clock;
  AlertsConfig cfg;
  cfg.subscriptions.push_back({{"owner@example.com"}, {}, {}});
  PendingChanges p;
  p.report_id = 7;
  p.report_path = "huge.csv";
  for (int i = 0; i < 1500; ++i) {
    ChangeRecord c;
    c.seq = i + 1;
    c.store = "Medan";
    c.item = "Item " + std::to_string(i);
    c.event = EventKind::kOutOfStock;
    p.events.push_back(c);
  }
  auto storage = Storage::open(":memory:", StorageOptions{}, clock);
  auto msgs = rendered(Checker(*storage, clock, cfg).messages_for(p));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Medan: 1,500 items out of stock (first 1,000 listed)");
  const auto lines = body_lines(msgs[0].data);
  EXPECT_EQ(lines_containing(lines, "Medan is out of stock of Item "), 1000u);
  EXPECT_TRUE(has_line(lines, "Medan is out of stock of Item 999"));
  EXPECT_FALSE(has_line(lines, "Medan is out of stock of Item 1000"));
  EXPECT_TRUE(has_line(lines,
                       "... and 500 more item(s) out of stock in this report for your "
                       "subscription, not listed here (this message lists the first 1,000 of "
                       "1,500); the inventory table has them all"))
      << msgs[0].data;
}

// Reports with more alerting changes than one page holds (Checker::kPageSize),
// spread over several stores: 1200 Medan items, 300 Makassar, then 1100 Bali,
// all past the first page, and back in stock for the first 50 Medan items.
class HugeReportTest : public CheckerTest {
 protected:
  static constexpr int kMedan = 1200, kMakassar = 300, kBali = 1100;

  std::vector<Row> rows(std::int64_t medan_count) {
    std::vector<Row> out;
    for (int i = 0; i < kMedan; ++i) out.push_back({"Medan", "M" + std::to_string(i), medan_count});
    for (int i = 0; i < kMakassar; ++i) out.push_back({"Makassar", "K" + std::to_string(i), 0});
    for (int i = 0; i < kBali; ++i) out.push_back({"Bali", "B" + std::to_string(i), 0});
    return out;
  }

  void SetUp() override {
    CheckerTest::SetUp();
    config_.subscriptions = {sub({"owner@example.com"}), sub({"medan@example.com"}, {"Medan"}),
                             sub({"bali@example.com"}, {"Bali"}),
                             sub({"islands@example.com"}, {"Bali", "Makassar"}),
                             sub({"padang@example.com"}, {"Padang"})};
  }
};

TEST_F(HugeReportTest, ReportGroupingGivesEachSubscriberItsOwnItemsAndCount) {
  static_assert(kMedan + kMakassar + kBali > 2 * Checker::kPageSize);
  Checker checker(*storage_, clock_, config_);
  const auto id = load(rows(0), "huge.csv");
  EXPECT_EQ(process(checker), 4);  // nothing for Padang

  struct Want {
    std::string subject;
    std::size_t listed;
    std::string first, last, more;
  };
  const std::map<std::string, Want> want = {
      {"owner@example.com",
       {"Inventory Alert! 3 stores, 2,600 items out of stock (first 1,000 listed)", 1000,
        "Medan is out of stock of M0", "Medan is out of stock of M999",
        "... and 1,600 more item(s) out of stock in this report for your subscription, not "
        "listed here (this message lists the first 1,000 of 2,600); the inventory table has them "
        "all"}},
      {"medan@example.com",
       {"Inventory Alert! Medan: 1,200 items out of stock (first 1,000 listed)", 1000,
        "Medan is out of stock of M0", "Medan is out of stock of M999",
        "... and 200 more item(s) out of stock in this report for your subscription, not listed "
        "here (this message lists the first 1,000 of 1,200); the inventory table has them all"}},
      // Every Bali item lies past the first page of the report.
      {"bali@example.com",
       {"Inventory Alert! Bali: 1,100 items out of stock (first 1,000 listed)", 1000,
        "Bali is out of stock of B0", "Bali is out of stock of B999",
        "... and 100 more item(s) out of stock in this report for your subscription, not listed "
        "here (this message lists the first 1,000 of 1,100); the inventory table has them all"}},
      {"islands@example.com",
       {"Inventory Alert! 2 stores, 1,400 items out of stock (first 1,000 listed)", 1000,
        "Makassar is out of stock of K0", "Bali is out of stock of B699",
        "... and 400 more item(s) out of stock in this report for your subscription, not listed "
        "here (this message lists the first 1,000 of 1,400); the inventory table has them all"}},
  };
  for (const auto& [rcpt, w] : want) {
    const auto msgs = outbox_for(rcpt);
    ASSERT_EQ(msgs.size(), 1u) << rcpt;
    const auto& m = msgs[0];
    EXPECT_EQ(m.report_id, id);
    EXPECT_EQ(m.event, "out_of_stock");
    EXPECT_EQ(m.subject, w.subject) << rcpt;
    std::vector<std::string> items;
    for (const auto& l : body_lines(m.data)) {
      if (l.find(" is out of stock of ") != std::string::npos) items.push_back(l);
    }
    ASSERT_EQ(items.size(), w.listed) << rcpt;
    EXPECT_EQ(items.front(), w.first) << rcpt;
    EXPECT_EQ(items.back(), w.last) << rcpt;
    EXPECT_EQ(std::set<std::string>(items.begin(), items.end()).size(), items.size()) << rcpt;
    EXPECT_TRUE(has_line(body_lines(m.data), w.more)) << rcpt << "\n" << m.data;
  }
  // Everything handled: nothing pending, and a second run queues nothing.
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
  EXPECT_EQ(process(checker), 0);

  // A store-filtered subscriber whose few items all lie past the first page
  // (1200 Medan items back above 0, not alerted on, come first) gets them
  // all, with no "more" line.
  std::vector<Row> later = rows(7);
  for (auto& r : later) {
    if (r.store != "Medan") r.count = 0;  // unchanged: no record
  }
  for (int i = 0; i < 3; ++i) later.push_back({"Padang", "P" + std::to_string(i), 0});
  load(later, "later.csv");
  EXPECT_EQ(process(checker), 2);  // the owner and Padang's subscriber
  const auto padang = outbox_for("padang@example.com");
  ASSERT_EQ(padang.size(), 1u);
  EXPECT_EQ(padang[0].subject, "Inventory Alert! Padang: 3 items out of stock");
  EXPECT_EQ(lines_containing(body_lines(padang[0].data), "Padang is out of stock of P"), 3u);
  EXPECT_EQ(lines_containing(body_lines(padang[0].data), "more item(s)"), 0u);
}

TEST_F(HugeReportTest, ItemGroupingGivesOneMessagePerItemHoweverMany) {
  config_.group = "item";
  config_.back_in_stock = true;
  Checker checker(*storage_, clock_, config_);
  load(rows(0), "huge.csv");
  const int per_report = (kMedan + kMakassar + kBali) + kMedan + kBali + (kBali + kMakassar);
  EXPECT_EQ(process(checker), per_report);
  // Medan back in stock: one message per item to owner and medan.
  load(rows(5), "back.csv");
  EXPECT_EQ(process(checker), 2 * kMedan);

  const auto all = outbox();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(per_report + 2 * kMedan));
  std::map<std::string, std::set<std::string>> got;  // recipient -> sentences
  std::set<std::string> ids;
  for (const auto& m : all) {
    EXPECT_EQ(m.subject, "Inventory Alert!");
    const auto lines = body_lines(m.data);
    ASSERT_EQ(lines.size(), 1u) << m.data;  // exactly the one sentence
    EXPECT_TRUE(got[m.recipient].insert(m.event + ": " + lines[0]).second) << lines[0];
    ids.insert(m.message_id);
  }
  EXPECT_EQ(ids.size(), all.size());
  EXPECT_EQ(got["owner@example.com"].size(),
            static_cast<std::size_t>(kMedan + kMakassar + kBali + kMedan));
  EXPECT_EQ(got["medan@example.com"].size(), static_cast<std::size_t>(2 * kMedan));
  EXPECT_EQ(got["bali@example.com"].size(), static_cast<std::size_t>(kBali));
  EXPECT_EQ(got["islands@example.com"].size(), static_cast<std::size_t>(kBali + kMakassar));
  EXPECT_TRUE(got["bali@example.com"].count("out_of_stock: Bali is out of stock of B1099"));
  EXPECT_TRUE(got["medan@example.com"].count(
      "back_in_stock: Medan has M1199 back in stock (5)"));
  EXPECT_FALSE(got.count("padang@example.com"));
  EXPECT_EQ(lines_containing(body_lines(all.back().data), "more item(s)"), 0u);
}

// With group = "item" a huge report is committed page by page: a failure
// after the first page leaves the cursor inside the report, after what was
// queued, and the next run goes on from there, queueing nothing twice.
TEST_F(HugeReportTest, ItemGroupingRecordsProgressWithinTheReport) {
  config_.group = "item";
  config_.subscriptions = {sub({"owner@example.com"}), sub({"bali@example.com"}, {"Bali"})};
  Checker checker(*storage_, clock_, config_);
  load(rows(0), "huge.csv");
  {
    // The database refuses the message of one item on the second page.
    test::RawDb raw(dir_ / "stockwatch.db");
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.payload LIKE '%\"K150\"%' "
             "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  }
  auto failed = checker.process_due();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(outbox().size(), Checker::kPageSize);  // the first page, Medan only
  auto pending = storage_->next_pending_changes(10);
  ASSERT_TRUE(pending.ok() && pending->has_value());
  ASSERT_FALSE((*pending)->events.empty());
  EXPECT_EQ((*pending)->events.front().item, "M1000");  // right after the first page

  {
    test::RawDb raw(dir_ / "stockwatch.db");
    raw.exec("DROP TRIGGER refuse");
  }
  Checker restarted(*storage_, clock_, config_);
  EXPECT_EQ(process(restarted), (kMedan + kMakassar + kBali) + kBali - 1000);
  const auto all = outbox();
  EXPECT_EQ(all.size(), static_cast<std::size_t>((kMedan + kMakassar + kBali) + kBali));
  std::set<std::string> ids;
  for (const auto& m : all) ids.insert(m.message_id);
  EXPECT_EQ(ids.size(), all.size());
  pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
}

// With group = "report" the report's messages and the cursor move together
// once every page is read: a failure leaves nothing queued and the cursor
// where it was.
TEST_F(HugeReportTest, ReportGroupingQueuesAHugeReportInOneStep) {
  Checker checker(*storage_, clock_, config_);
  load(rows(0), "huge.csv");
  {
    test::RawDb raw(dir_ / "stockwatch.db");
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.recipient = "
             "'islands@example.com' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  }
  ASSERT_FALSE(checker.process_due().ok());
  EXPECT_TRUE(outbox().empty());
  {
    test::RawDb raw(dir_ / "stockwatch.db");
    raw.exec("DROP TRIGGER refuse");
  }
  EXPECT_EQ(process(checker), 4);
  EXPECT_EQ(process(checker), 0);
  EXPECT_EQ(outbox().size(), 4u);
}

}  // namespace
}  // namespace stockwatch

// Alerts as the outbox keeps them: event data in, the same email out every
// time it is rendered; rows queued by an older version sent as they are.
#include "notify/alert.hpp"

#include <gtest/gtest.h>

#include <string>

#include "report/report_problem.hpp"

namespace stockwatch {
namespace {

Alert medan_alert() {
  Alert a;
  a.event = EventKind::kOutOfStock;
  a.subject_prefix = "Inventory Alert!";
  a.report_id = 7;
  a.report_path = "2026-11-medan.csv";
  a.report_time = from_unix_ms(1795000000000);
  a.items = {{"Medan", "Robusta Dairi", 4, 0}, {"Medan", "Arabica Gayo", std::nullopt, 0}};
  a.total = 2;
  a.stores = 1;
  return a;
}

OutboxMessage queued(const Alert& a) {
  OutboxMessage m;
  m.id = 3;
  m.message_id = "out_of_stock-report.7.0123456789abcdef@example.com";
  m.report_id = a.report_id;
  m.event = std::string(event_name(a.event));
  m.sender = "stockwatch@example.com";
  m.recipient = "owner@example.com";
  m.payload = encode_alert(a);
  m.created_at = from_unix_ms(1795000001000);
  return m;
}

TEST(Alert, ThePayloadReadsBackAsItWasWritten) {
  const Alert a = medan_alert();
  auto back = decode_alert(encode_alert(a));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->event, a.event);
  EXPECT_EQ(back->subject_prefix, a.subject_prefix);
  EXPECT_EQ(back->report_id, 7);
  EXPECT_EQ(back->report_path, a.report_path);
  EXPECT_EQ(back->report_time, a.report_time);
  ASSERT_EQ(back->items.size(), 2u);
  EXPECT_EQ(back->items[0].old_count, std::optional<std::int64_t>(4));
  EXPECT_EQ(back->items[1].old_count, std::nullopt);
  EXPECT_EQ(back->items[1].item, "Arabica Gayo");
  EXPECT_EQ(back->total, 2);
  EXPECT_EQ(back->stores, 1);
}

TEST(Alert, RendersTheWordsOfTheOriginalMessages) {
  const RenderedText t = render_alert(medan_alert(), english());
  EXPECT_EQ(t.subject, "Inventory Alert! Medan: 2 items out of stock");
  EXPECT_EQ(t.body,
            "Medan is out of stock of Robusta Dairi\n"
            "Medan is out of stock of Arabica Gayo\n"
            "\nReport: 2026-11-medan.csv (report 7), loaded 2026-11-18 11:06:40 UTC\n");
}

TEST(Alert, EveryRenderingOfAQueuedMessageIsTheSameEmailWithItsMessageId) {
  const OutboxMessage m = queued(medan_alert());
  auto first = render_email(m);
  ASSERT_TRUE(first.ok()) << first.error().message();
  OutboxMessage retried = m;  // a later attempt: the row as it is then
  retried.attempts = 4;
  retried.next_attempt_at = from_unix_ms(1795000900000);
  retried.last_error = "421 try later";
  auto again = render_email(retried);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_NE(first->find("Message-ID: <" + m.message_id + ">\r\n"), std::string::npos) << *first;
  EXPECT_NE(first->find("Subject: Inventory Alert! Medan: 2 items out of stock\r\n"),
            std::string::npos);
  EXPECT_NE(first->find("To: owner@example.com\r\n"), std::string::npos);
  EXPECT_EQ(outbox_subject(m), "Inventory Alert! Medan: 2 items out of stock");
}

TEST(Alert, ARowQueuedByAnOlderVersionIsSentAsItIs) {
  OutboxMessage old;
  old.subject = "Inventory Alert!";
  old.data = "Subject: Inventory Alert!\r\n\r\nMedan is out of stock of Robusta Dairi\r\n";
  auto email = render_email(old);
  ASSERT_TRUE(email.ok());
  EXPECT_EQ(*email, old.data);
  EXPECT_EQ(outbox_subject(old), "Inventory Alert!");
}

TEST(Alert, AMessageThatCannotBeRenderedSaysWhy) {
  OutboxMessage m = queued(medan_alert());
  m.payload = "{\"v\":1,\"event\":\"no_such_event\"}";
  auto email = render_email(m);
  ASSERT_FALSE(email.ok());
  EXPECT_NE(email.error().message().find("no_such_event"), std::string::npos);
  EXPECT_EQ(outbox_subject(m), "");
  m = queued(medan_alert());
  m.channel = "telegram";
  EXPECT_FALSE(render_email(m).ok());
}

TEST(Alert, ARejectedReportRendersItsStoredProblems) {
  Alert a;
  a.event = EventKind::kReportRejected;
  a.subject_prefix = "Inventory Alert!";
  a.report_id = 4;
  a.report_path = "medan.csv";
  a.report_time = from_unix_ms(1795000000000);
  const ReportProblem empty{0, "", ProblemCode::kEmptyReport, {}};
  a.problems = problems_to_json(std::span(&empty, 1), 1);
  auto back = decode_alert(encode_alert(a));
  ASSERT_TRUE(back.ok());
  const RenderedText t = render_alert(*back, english());
  EXPECT_EQ(t.subject, "Inventory Alert! Report rejected: medan.csv");
  EXPECT_EQ(t.body,
            "The report medan.csv was rejected and nothing of it was loaded.\n"
            "Until a corrected report arrives, nobody is watching this stock.\n\n"
            "Problems found:\nthe report is empty\n\n"
            "Fix the report and deliver it again.\n"
            "\nReport: medan.csv (report 4), received 2026-11-18 11:06:40 UTC\n");
}

}  // namespace
}  // namespace stockwatch

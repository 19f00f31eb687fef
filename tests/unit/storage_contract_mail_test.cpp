// The storage contract for reports by email (Storage::record_mail,
// mail_receipt, finish_mail, report_mail, report_mails, report_events): what every
// backend must do, on SQLite and on a real PostgreSQL 15, like
// storage_contract_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage_backends.hpp"
#include "store/storage.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::TempDir;

using test::StorageBackend;

class MailStorageContract : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override {
    location_ = GetParam().fresh(dir_);
    storage_ = connect();
  }
  std::unique_ptr<Storage> connect() { return Storage::open(location_, StorageOptions{}, clock_); }

  MailReceipt receipt(const std::string& key) const {
    MailReceipt r;
    r.mail_key = key;
    r.message_id = key;
    r.sender = "gudang.medan@example.com";
    r.received_at = clock_.now();
    r.attachments = {{0, "medan.csv", "email/x/1_medan.csv", "sha-1", std::nullopt},
                     {1, "photo.jpg", "", "", std::nullopt}};
    return r;
  }

  TempDir dir_{"mail-contract"};
  ManualClock clock_;
  std::filesystem::path location_;
  std::unique_ptr<Storage> storage_;
};

TEST_P(MailStorageContract, AMailIsRecordedOnceAndResumedAsStored) {
  EXPECT_FALSE(storage_->mail_receipt("m1@example.com")->has_value());
  auto stored = storage_->record_mail(receipt("m1@example.com"));
  ASSERT_TRUE(stored.ok()) << stored.error().message();
  EXPECT_EQ(stored->state, MailState::kLoading);
  ASSERT_EQ(stored->attachments.size(), 2u);

  // Seen again (after a restart, on another connection): the first
  // record wins, with the paths it gave.
  auto again = receipt("m1@example.com");
  again.attachments[0].path = "email/y/1_medan.csv";
  auto other = connect();
  stored = other->record_mail(again);
  ASSERT_TRUE(stored.ok()) << stored.error().message();
  EXPECT_EQ(stored->attachments[0].path, "email/x/1_medan.csv");
  EXPECT_EQ(stored->attachments[1].name, "photo.jpg");
  EXPECT_EQ(stored->attachments[1].path, "");
  EXPECT_EQ(stored->sender, "gudang.medan@example.com");
}

TEST_P(MailStorageContract, FinishingAMailQueuesItsReplyOnceAndLinksTheLedger) {
  ASSERT_TRUE(storage_->record_mail(receipt("m2@example.com")).ok());
  const std::int64_t report = test::load_rows(*storage_, clock_, {{"Medan", "Robusta", 0},
                                                                 {"Medan", "Arabika", 4}},
                                              "email/x/1_medan.csv", "sha-1");
  auto atts = storage_->mail_receipt("m2@example.com")->value().attachments;
  atts[0].report_id = report;
  auto reply = test::sample_message(clock_, "reply-1", report, clock_.now());
  auto done = storage_->finish_mail("m2@example.com", atts, {reply}, clock_.now());
  ASSERT_TRUE(done.ok()) << done.error().message();
  EXPECT_TRUE(*done);
  EXPECT_EQ(storage_->outbox_counts()->queued, 1);

  // A second finish (a crash before the server's mark): nothing more.
  auto other = connect();
  auto reply2 = test::sample_message(clock_, "reply-2", report, clock_.now());
  done = other->finish_mail("m2@example.com", atts, {reply2}, clock_.now());
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  EXPECT_EQ(storage_->outbox_counts()->queued, 1);

  auto stored = storage_->mail_receipt("m2@example.com");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->state, MailState::kAnswered);
  EXPECT_EQ((*stored)->reply_id, "reply-1");
  EXPECT_EQ((*stored)->attachments[0].report_id, report);
  EXPECT_FALSE((*stored)->attachments[1].report_id.has_value());

  // The ledger entry knows it came by email, from whom.
  auto source = storage_->report_mail(report);
  ASSERT_TRUE(source.ok() && source->has_value());
  EXPECT_EQ((*source)->message_id, "m2@example.com");
  EXPECT_EQ((*source)->sender, "gudang.medan@example.com");
  EXPECT_EQ((*source)->attachment, "medan.csv");
  EXPECT_FALSE(storage_->report_mail(report + 100)->has_value());
}

TEST_P(MailStorageContract, APageOfLedgerEntriesNamesTheMailsTheyCameIn) {
  ASSERT_TRUE(storage_->record_mail(receipt("m3@example.com")).ok());
  const std::int64_t by_mail = test::load_rows(*storage_, clock_, {{"Medan", "Robusta", 3}},
                                               "email/x/1_medan.csv", "sha-1");
  const std::int64_t by_folder =
      test::load_rows(*storage_, clock_, {{"Medan", "Arabika", 2}}, "medan.csv", "sha-2");
  auto atts = storage_->mail_receipt("m3@example.com")->value().attachments;
  atts[0].report_id = by_mail;
  ASSERT_TRUE(storage_->finish_mail("m3@example.com", atts, {}, clock_.now()).ok());

  auto sources = connect()->report_mails({by_folder, by_mail, by_mail + 100});
  ASSERT_TRUE(sources.ok()) << sources.error().message();
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].report_id, by_mail);
  EXPECT_EQ((*sources)[0].message_id, "m3@example.com");
  EXPECT_EQ((*sources)[0].sender, "gudang.medan@example.com");
  EXPECT_EQ((*sources)[0].attachment, "medan.csv");
  EXPECT_TRUE(storage_->report_mails({})->empty());
}

TEST_P(MailStorageContract, AMailWithoutAReplyIsAnsweredQuietly) {
  MailReceipt r = receipt("bounce@example.com");
  r.attachments.clear();
  ASSERT_TRUE(storage_->record_mail(r).ok());
  auto done = storage_->finish_mail("bounce@example.com", {}, {}, clock_.now());
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  EXPECT_EQ(storage_->outbox_counts()->queued, 0);
  EXPECT_EQ(storage_->mail_receipt("bounce@example.com")->value().reply_id, "");
}

TEST_P(MailStorageContract, AReportsEventsAreListedInOrder) {
  const std::int64_t first = test::load_rows(*storage_, clock_, {{"Medan", "a", 5}}, "a.csv", "sha-a");
  const std::int64_t second = test::load_rows(
      *storage_, clock_, {{"Medan", "a", 0}, {"Medan", "b", 0}, {"Medan", "c", 3}}, "b.csv", "sha-b");
  auto events = storage_->report_events(second, 10);
  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].item, "a");
  EXPECT_EQ((*events)[0].event, EventKind::kOutOfStock);
  EXPECT_EQ((*events)[0].old_count, 5);
  EXPECT_EQ((*events)[1].item, "b");
  EXPECT_LT((*events)[0].seq, (*events)[1].seq);
  EXPECT_EQ(storage_->report_events(second, 1)->size(), 1u);
  EXPECT_TRUE(storage_->report_events(first, 10)->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, MailStorageContract,
                         ::testing::ValuesIn(test::storage_backends("mail.db")),
                         [](const ::testing::TestParamInfo<StorageBackend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace stockwatch

// What a SIGHUP applies and what it names as needing a restart.
#include "daemon/reload.hpp"

#include <gtest/gtest.h>

namespace stockwatch {
namespace {

Config running() {
  Config c;
  c.source = "/etc/stockwatch/stockwatch.toml";
  c.storage.database = "/var/lib/stockwatch/stockwatch.db";
  c.inbox.path = "/srv/inbox";
  c.inbox.processed = "/srv/processed";
  c.inbox.failed = "/srv/failed";
  c.http.listen = "127.0.0.1:8080";
  return c;
}

TEST(Reload, NewReportSettingsAreApplied) {
  const Config now = running();
  Config fresh = now;
  fresh.report.aliases.store.push_back("cabang");
  fresh.report.limits.max_problems = 7;
  fresh.inbox.max_report_bytes = 1024;
  fresh.inbox.archive = "delete";
  const ReloadPlan plan = plan_reload(now, fresh);
  EXPECT_TRUE(plan.needs_restart.empty());
  EXPECT_EQ(plan.next.report.aliases.store, fresh.report.aliases.store);
  EXPECT_EQ(plan.next.report.limits.max_problems, 7u);
  EXPECT_EQ(plan.next.inbox.max_report_bytes, 1024u);
  EXPECT_EQ(plan.next.inbox.archive, "delete");
}

TEST(Reload, AlertSmtpAndUploadSettingsAreApplied) {
  const Config now = running();
  Config fresh = now;
  fresh.alerts.subject = "Stok habis";
  fresh.smtp.url = "smtp://mail.example.com:25";
  fresh.http.token = "new-token";
  fresh.http.max_upload_bytes = 5;
  fresh.log.level = "debug";
  const ReloadPlan plan = plan_reload(now, fresh);
  EXPECT_TRUE(plan.needs_restart.empty());
  EXPECT_EQ(plan.next.alerts.subject, "Stok habis");
  EXPECT_EQ(plan.next.smtp.url, "smtp://mail.example.com:25");
  EXPECT_EQ(plan.next.http.token, "new-token");
  EXPECT_EQ(plan.next.http.max_upload_bytes, 5u);
  EXPECT_EQ(plan.next.log.level, "debug");
}

TEST(Reload, TheMailboxIsAppliedWithoutARestart) {
  Config now = running();
  now.mailbox.url = "imaps://imap.example.com/INBOX";
  now.mailbox.password = "old";
  now.mailbox.senders = {{"gudang.medan@example.com", {"Medan"}, "id"}};
  Config fresh = now;
  EXPECT_TRUE(plan_reload(now, fresh).next.mailbox == now.mailbox);   // nothing to redo
  fresh.mailbox.url = "imaps://mail.example.net/Laporan";
  fresh.mailbox.password_file = "/etc/stockwatch/mailbox-password-2";
  fresh.mailbox.password = "new";
  fresh.mailbox.senders.push_back({"gudang.lampung@example.com", {"Lampung"}, ""});
  const ReloadPlan plan = plan_reload(now, fresh);
  EXPECT_TRUE(plan.needs_restart.empty());
  EXPECT_TRUE(plan.next.mailbox == fresh.mailbox);
  EXPECT_FALSE(plan.next.mailbox == now.mailbox);
  // A new password in the same file is a change too.
  Config same_file = now;
  same_file.mailbox.password = "rotated";
  EXPECT_FALSE(plan_reload(now, same_file).next.mailbox == now.mailbox);
}

TEST(Reload, RestartOnlySettingsKeepTheirRunningValuesAndAreNamed) {
  const Config now = running();
  Config fresh = now;
  fresh.storage.database = "/elsewhere.db";
  fresh.storage.busy_timeout_ms = 1;
  fresh.inbox.path = "/srv/other-inbox";
  fresh.inbox.mode = "poll";
  fresh.inbox.settle_ms = 5;
  fresh.http.listen = "0.0.0.0:9090";
  fresh.report.aliases.item.push_back("artikel");   // applied beside them
  const ReloadPlan plan = plan_reload(now, fresh);
  EXPECT_EQ(plan.needs_restart,
            (std::vector<std::string>{"storage.database", "storage.busy_timeout_ms", "inbox.path",
                                      "inbox.mode", "inbox.settle_ms", "http.listen"}));
  EXPECT_EQ(plan.next.storage.database, now.storage.database);
  EXPECT_EQ(plan.next.storage.busy_timeout_ms, now.storage.busy_timeout_ms);
  EXPECT_EQ(plan.next.inbox.path, now.inbox.path);
  EXPECT_EQ(plan.next.inbox.mode, now.inbox.mode);
  EXPECT_EQ(plan.next.inbox.settle_ms, now.inbox.settle_ms);
  EXPECT_EQ(plan.next.http.listen, now.http.listen);
  EXPECT_EQ(plan.next.report.aliases.item, fresh.report.aliases.item);
}

// A node's name and a shared inbox are read at start.
TEST(Reload, TheNodeNameAndTheSharedInboxNeedARestart) {
  const Config now = running();
  Config fresh = now;
  fresh.inbox.shared = !now.inbox.shared;
  fresh.node.name = now.node.name + "-renamed";
  const ReloadPlan plan = plan_reload(now, fresh);
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"inbox.shared", "node.name"}));
  EXPECT_EQ(plan.next.inbox.shared, now.inbox.shared);
  EXPECT_EQ(plan.next.node.name, now.node.name);
}

TEST(Reload, KeysAreJoinedForTheWarning) {
  EXPECT_EQ(join_keys({"http.listen"}), "http.listen");
  EXPECT_EQ(join_keys({"inbox.path", "http.listen"}), "inbox.path and http.listen");
  EXPECT_EQ(join_keys({"a", "b", "c"}), "a, b and c");
}

}  // namespace
}  // namespace stockwatch

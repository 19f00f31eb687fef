// The Prometheus families GET /metrics serves.
#include "daemon/metrics.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <thread>
#include <vector>

namespace stockwatch {
namespace {

class MetricsTest : public ::testing::Test {
 protected:
  Metrics metrics_;

  // Whether the exposition has a sample line `sample value`.
  [[nodiscard]] bool has_sample(const std::string& sample, const std::string& value) const {
    return ("\n" + metrics_.serialize()).find("\n" + sample + " " + value + "\n") !=
           std::string::npos;
  }
  // Every {sample, value} is in the exposition.
  void expect_samples(std::initializer_list<std::pair<std::string, std::string>> samples) const {
    for (const auto& [sample, value] : samples) {
      EXPECT_TRUE(has_sample(sample, value)) << sample << " " << value << " in\n"
                                             << metrics_.serialize();
    }
  }
  [[nodiscard]] bool has_family(const std::string& name, const std::string& type) const {
    return metrics_.serialize().find("# TYPE " + name + " " + type + "\n") != std::string::npos;
  }
};

TEST_F(MetricsTest, EveryFamilyIsExposedFromTheStart) {
  for (const char* counter :
       {"stockwatch_reports_total", "stockwatch_rows_loaded_total", "stockwatch_changes_total",
        "stockwatch_alerts_total", "stockwatch_alert_messages_queued_total",
        "stockwatch_emails_total", "stockwatch_inbox_rescans_total",
        "stockwatch_inbox_overflows_total", "stockwatch_http_upload_bytes_total"}) {
    EXPECT_TRUE(has_family(counter, "counter")) << counter;
  }
  EXPECT_TRUE(has_family("stockwatch_outbox_messages", "gauge"));
  EXPECT_TRUE(has_family("stockwatch_ingest_duration_seconds", "histogram"));
  // Known label values start at zero, so rate() has a baseline.
  for (const char* r : {"loaded", "rejected", "duplicate"}) {
    EXPECT_TRUE(has_sample(std::string("stockwatch_reports_total{result=\"") + r + "\"}", "0")) << r;
  }
  for (const char* e : {"out_of_stock", "back_in_stock", "report_rejected"}) {
    EXPECT_TRUE(has_sample(std::string("stockwatch_alerts_total{event=\"") + e + "\"}", "0")) << e;
  }
  for (const char* r : {"sent", "retry", "dead"}) {
    EXPECT_TRUE(has_sample(std::string("stockwatch_emails_total{result=\"") + r + "\"}", "0")) << r;
  }
  EXPECT_TRUE(has_sample("stockwatch_outbox_messages{state=\"queued\"}", "0"));
}

// Several nodes behind one Prometheus: every sample names its node.
TEST_F(MetricsTest, EverySampleCarriesTheNodeLabel) {
  metrics_.set_node("node-a");
  metrics_.report("loaded", 6, 2, 0.02);
  expect_samples({{"stockwatch_reports_total{result=\"loaded\",node=\"node-a\"}", "1"},
                  {"stockwatch_rows_loaded_total{node=\"node-a\"}", "6"}});
  const std::string text = metrics_.serialize();
  std::size_t samples = 0;
  for (std::size_t at = 0, end; at < text.size(); at = end + 1) {
    end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    EXPECT_NE(line.find("node=\"node-a\""), std::string::npos) << line;
  }
  EXPECT_GT(samples, 10u);
}

TEST_F(MetricsTest, ReportsRowsChangesAndDuration) {
  metrics_.report("loaded", 6, 2, 0.02);
  metrics_.report("loaded", 4, 1, 0.2);
  metrics_.report("rejected", 100, 100, 0.003);
  expect_samples({
      {"stockwatch_reports_total{result=\"loaded\"}", "2"},
      {"stockwatch_reports_total{result=\"rejected\"}", "1"},
      {"stockwatch_reports_total{result=\"duplicate\"}", "0"},
  });
  // Rows and changes count loaded reports only.
  expect_samples({
      {"stockwatch_rows_loaded_total", "10"},
      {"stockwatch_changes_total", "3"},
      {"stockwatch_ingest_duration_seconds_count", "3"},
      {"stockwatch_ingest_duration_seconds_bucket{le=\"0.005\"}", "1"},
      {"stockwatch_ingest_duration_seconds_bucket{le=\"0.05\"}", "2"},
      {"stockwatch_ingest_duration_seconds_bucket{le=\"+Inf\"}", "3"},
  });
}

TEST_F(MetricsTest, AlertsMessagesAndEmails) {
  metrics_.alerts(EventKind::kOutOfStock, 3);
  metrics_.alerts(EventKind::kBackInStock, 0);
  metrics_.messages_queued(2);
  metrics_.emails(5, 1, 0);
  metrics_.emails(1, 0, 2);
  expect_samples({
      {"stockwatch_alerts_total{event=\"out_of_stock\"}", "3"},
      {"stockwatch_alerts_total{event=\"back_in_stock\"}", "0"},
      {"stockwatch_alert_messages_queued_total", "2"},
      {"stockwatch_emails_total{result=\"sent\"}", "6"},
      {"stockwatch_emails_total{result=\"retry\"}", "1"},
      {"stockwatch_emails_total{result=\"dead\"}", "2"},
  });
}

TEST_F(MetricsTest, OutboxGaugeAndInboxRunningTotals) {
  // The outbox depth is a gauge: the last value counts.
  metrics_.outbox_depth(7, 1);
  metrics_.outbox_depth(3, 1);
  // The inbox reports running totals; they become counters.
  metrics_.inbox_totals(3, 1);
  metrics_.inbox_totals(3, 1);
  metrics_.inbox_totals(5, 1);
  expect_samples({
      {"stockwatch_outbox_messages{state=\"queued\"}", "3"},
      {"stockwatch_outbox_messages{state=\"dead\"}", "1"},
      {"stockwatch_inbox_rescans_total", "5"},
      {"stockwatch_inbox_overflows_total", "1"},
  });
}

TEST_F(MetricsTest, HttpRequestsByRouteAndStatus) {
  metrics_.http_request("s3_put", 200);
  metrics_.http_request("s3_put", 200);
  metrics_.http_request("s3_put", 403);
  metrics_.http_request("healthz", 200);
  metrics_.http_upload_bytes(1234);
  EXPECT_TRUE(has_family("stockwatch_http_requests_total", "counter"));
  expect_samples({
      {"stockwatch_http_requests_total{route=\"s3_put\",status=\"200\"}", "2"},
      {"stockwatch_http_requests_total{route=\"s3_put\",status=\"403\"}", "1"},
      {"stockwatch_http_requests_total{route=\"healthz\",status=\"200\"}", "1"},
      {"stockwatch_http_upload_bytes_total", "1234"},
  });
}

TEST_F(MetricsTest, MailboxLooks) {
  expect_samples({{"stockwatch_mailbox_mails_total{result=\"seen\"}", "0"},
                  {"stockwatch_mailbox_mails_total{result=\"refused\"}", "0"},
                  {"stockwatch_mailbox_imap_errors_total", "0"}});
  metrics_.mailbox(3, 2, 1, 3, false);
  metrics_.mailbox(0, 0, 0, 0, true);
  metrics_.mailbox(0, 0, 0, 0, true);
  expect_samples({{"stockwatch_mailbox_mails_total{result=\"seen\"}", "3"},
                  {"stockwatch_mailbox_mails_total{result=\"refused\"}", "1"},
                  {"stockwatch_mailbox_attachments_loaded_total", "2"},
                  {"stockwatch_mailbox_replies_queued_total", "3"},
                  {"stockwatch_mailbox_imap_errors_total", "2"}});
}

TEST_F(MetricsTest, ConcurrentRecording) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 1000; ++i) {
        metrics_.http_request("healthz", 200);
        metrics_.inbox_totals(static_cast<std::uint64_t>(i), 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  expect_samples({
      {"stockwatch_http_requests_total{route=\"healthz\",status=\"200\"}", "4000"},
      {"stockwatch_inbox_rescans_total", "999"},
  });
}

TEST_F(MetricsTest, ConsolePageTimesByPage) {
  metrics_.console_page("console_overview", 0.004);
  metrics_.console_page("console_overview", 0.2);
  metrics_.console_page("console_item", 0.0001);
  expect_samples({
      {"stockwatch_console_page_seconds_count{page=\"console_overview\"}", "2"},
      {"stockwatch_console_page_seconds_bucket{page=\"console_overview\",le=\"0.005\"}", "1"},
      {"stockwatch_console_page_seconds_bucket{page=\"console_overview\",le=\"0.25\"}", "2"},
      {"stockwatch_console_page_seconds_bucket{page=\"console_item\",le=\"0.0005\"}", "1"},
  });
}

}  // namespace
}  // namespace stockwatch

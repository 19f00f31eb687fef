// The mailed stock-count sheets: the monthly time and its setting, the
// template stage stepped with a clock moved by hand (once per scheduled
// time, across restarts), and the email it queues, read by Python's email
// package with the attached sheet opened by openpyxl
// (tests/support/template_tool.py).
#include "pipeline/template_stage.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/schedule.hpp"
#include "config/config.hpp"
#include "notify/alert.hpp"
#include "notify/template_mail.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::TempDir;

TimePoint utc(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  using namespace std::chrono;
  return TimePoint(sys_days(year(y) / month(m) / day(d))) + hours(h) + minutes(min);
}

MonthlySchedule monthly(std::string_view text, std::string_view offset = "+00:00") {
  auto off = parse_utc_offset(offset);
  EXPECT_TRUE(off.ok()) << off.error().message();
  auto s = parse_monthly(text, off.ok() ? *off : 0);
  EXPECT_TRUE(s.ok()) << s.error().message();
  return s.ok() ? *s : MonthlySchedule{};
}

// --- The monthly time ---------------------------------------------------------------

TEST(MonthlySchedule, LatestAndNextAroundTheDay) {
  const MonthlySchedule s = monthly("monthly 1 07:00");
  EXPECT_EQ(s.latest_at_or_before(utc(2026, 12, 1, 7)), utc(2026, 12, 1, 7));
  EXPECT_EQ(s.latest_at_or_before(utc(2026, 12, 1, 6, 59)), utc(2026, 11, 1, 7));
  EXPECT_EQ(s.latest_at_or_before(utc(2026, 12, 31, 23)), utc(2026, 12, 1, 7));
  EXPECT_EQ(s.next_after(utc(2026, 12, 1, 7)), utc(2027, 1, 1, 7));
  EXPECT_EQ(s.next_after(utc(2026, 12, 1, 6)), utc(2026, 12, 1, 7));
  EXPECT_EQ(s.latest_at_or_before(utc(2027, 1, 1, 0)), utc(2026, 12, 1, 7));
  EXPECT_EQ(s.to_string(), "monthly 1 07:00 +00:00");
}

TEST(MonthlySchedule, AnOffsetMovesTheTimeNotTheDay) {
  // 07:00 in Jakarta (UTC+7) is midnight UTC; the 1st there starts at 17:00
  // UTC on the last day of the month before.
  const MonthlySchedule wib = monthly("monthly 1 07:00", "+07:00");
  EXPECT_EQ(wib.next_after(utc(2026, 11, 30, 18)), utc(2026, 12, 1, 0));
  EXPECT_EQ(wib.latest_at_or_before(utc(2026, 12, 1, 0)), utc(2026, 12, 1, 0));
  const MonthlySchedule early = monthly("monthly 1 03:00", "+07:00");
  EXPECT_EQ(early.next_after(utc(2026, 11, 30, 12)), utc(2026, 11, 30, 20));
  const MonthlySchedule west = monthly("monthly 28 23:30", "-05:00");
  EXPECT_EQ(west.next_after(utc(2027, 2, 1)), utc(2027, 3, 1, 4, 30));
  EXPECT_EQ(west.to_string(), "monthly 28 23:30 -05:00");
}

TEST(MonthlySchedule, WrongTextSaysWhatToWrite) {
  const std::string how = "; write \"monthly DAY HH:MM\", such as \"monthly 1 07:00\"";
  EXPECT_EQ(parse_monthly("weekly 1 07:00").error().message(),
            "\"weekly 1 07:00\" is not a monthly time: it must start with \"monthly\"" + how);
  EXPECT_EQ(parse_monthly("monthly 07:00").error().message(),
            "\"monthly 07:00\" is not a monthly time: it needs a day and a time" + how);
  EXPECT_EQ(parse_monthly("monthly 31 07:00").error().message(),
            "\"monthly 31 07:00\" is not a monthly time: the day must be from 1 to 28 (every "
            "month has it)" + how);
  EXPECT_EQ(parse_monthly("monthly 1 7am").error().message(),
            "\"monthly 1 7am\" is not a monthly time: the time must be HH:MM, from 00:00 to "
            "23:59" + how);
  EXPECT_FALSE(parse_monthly("monthly 1 24:00").ok());
  EXPECT_TRUE(parse_monthly("  monthly  15   9:05 ").ok());
  EXPECT_EQ(parse_utc_offset("7").error().message(),
            "\"7\" is not an offset from UTC; write \"+HH:MM\" or \"-HH:MM\", such as \"+07:00\" "
            "for Western Indonesia Time (WIB)");
  EXPECT_FALSE(parse_utc_offset("+15:00").ok());
  EXPECT_EQ(*parse_utc_offset("-03:30"), -210);
}

// --- [templates] ------------------------------------------------------------------------

constexpr const char* kBase = R"(
[[alerts.subscription]]
email = "owner@example.com"
)";

TEST(TemplatesConfig, SendOffsetAndLanguage) {
  auto c = parse_config(std::string(kBase) +
                            "[templates]\nsend = \"monthly 1 07:00\"\nutc_offset = \"+07:00\"\n"
                            "language = \"id\"\n",
                        "t.toml", "/srv");
  ASSERT_TRUE(c.ok()) << c.problems[0].to_string();
  ASSERT_TRUE(c.config.templates.schedule.has_value());
  EXPECT_EQ(c.config.templates.schedule->to_string(), "monthly 1 07:00 +07:00");
  EXPECT_EQ(c.config.templates.language, "id");
  auto none = parse_config(kBase, "t.toml", "/srv");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.config.templates.schedule.has_value());
  EXPECT_EQ(none.config.templates.language, "en");
}

TEST(TemplatesConfig, ProblemsNameTheKeyAndLine) {
  auto c = parse_config(std::string(kBase) + "[templates]\nsend = \"monthly 30 07:00\"\n",
                        "t.toml", "/srv");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].to_string(),
            "templates.send (line 5): \"monthly 30 07:00\" is not a monthly time: the day must be "
            "from 1 to 28 (every month has it); write \"monthly DAY HH:MM\", such as \"monthly 1 "
            "07:00\"");
  c = parse_config(std::string(kBase) +
                       "[templates]\nsend = \"monthly 1 07:00\"\nutc_offset = \"WIB\"\n"
                       "language = \"fr\"\nsent = 1\n",
                   "t.toml", "/srv");
  ASSERT_EQ(c.problems.size(), 3u);
  std::string all;
  for (const auto& p : c.problems) all += p.to_string() + "\n";
  EXPECT_NE(all.find("templates.utc_offset (line 6): \"WIB\" is not an offset from UTC"),
            std::string::npos) << all;
  EXPECT_NE(all.find("templates.language (line 7): must be one of \"en\", \"id\", got \"fr\""),
            std::string::npos) << all;
  EXPECT_NE(all.find("templates.sent (line 8): unknown key"), std::string::npos) << all;
}

// --- The stage ----------------------------------------------------------------------------

class TemplateStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set(utc(2026, 11, 20, 9));
    storage_ = open();
    test::load_rows(*storage_, clock_,
                    {{"Medan", "Arabika Gayo", 24}, {"Medan", "Robusta Dairi", 0},
                     {"Padang", "Solok", 3}},
                    "a.csv", "sha-a");
  }

  std::unique_ptr<Storage> open() { return Storage::open(dir_ / "t.db", StorageOptions{}, clock_); }

  TemplateStageOptions options() const {
    TemplateStageOptions o;
    o.schedule = monthly("monthly 1 07:00");
    o.sender = "stockwatch@example.com";
    o.subscriptions = {{{"owner@example.com"}, {}, {}},
                       {{"medan@example.com", "owner@example.com"}, {"Medan", "Bandung"}, {}}};
    o.tmpdir = dir_.path();
    return o;
  }

  std::vector<OutboxMessage> queued() {
    auto m = storage_->list_outbox(true, 100);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : std::vector<OutboxMessage>{};
  }

  TempDir dir_{"templates"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(TemplateStageTest, TheFirstStepSendsNothingAndTheNextTimeSendsEachPairOnce) {
  TemplateStage stage(*storage_, clock_, options());
  EXPECT_EQ(stage.next_due(), utc(2026, 12, 1, 7));
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok()) << step.error().message();
  EXPECT_FALSE(step->handled.has_value());  // 1 November passed before the setting existed
  EXPECT_TRUE(queued().empty());

  clock_.set(utc(2026, 12, 1, 6, 59));
  EXPECT_FALSE(stage.process_due()->handled.has_value());
  clock_.set(utc(2026, 12, 1, 7));
  step = stage.process_due();
  ASSERT_TRUE(step.ok()) << step.error().message();
  EXPECT_EQ(step->handled, utc(2026, 12, 1, 7));
  // owner: Medan and Padang (once each, though two subscriptions name
  // Medan for it); medan@: Medan. Bandung has no items.
  EXPECT_EQ(step->queued, 3u);
  EXPECT_EQ(step->skipped_stores, std::vector<std::string>{"Bandung"});
  std::vector<std::string> pairs;
  for (const auto& m : queued()) {
    EXPECT_EQ(m.event, "template");
    EXPECT_EQ(m.sender, "stockwatch@example.com");
    auto mail = decode_template_mail(m.payload);
    ASSERT_TRUE(mail.ok());
    EXPECT_EQ(mail->as_of, utc(2026, 12, 1, 7));
    pairs.push_back(m.recipient + ":" + mail->store + ":" + std::to_string(mail->items));
  }
  std::sort(pairs.begin(), pairs.end());
  EXPECT_EQ(pairs, (std::vector<std::string>{"medan@example.com:Medan:2",
                                             "owner@example.com:Medan:2",
                                             "owner@example.com:Padang:1"}));

  // The same time again, in this process or after a restart: nothing more.
  clock_.advance(1h);
  EXPECT_FALSE(stage.process_due()->handled.has_value());
  auto again = open();
  TemplateStage restarted(*again, clock_, options());
  EXPECT_FALSE(restarted.process_due()->handled.has_value());
  EXPECT_EQ(queued().size(), 3u);
  EXPECT_EQ(stage.next_due(), utc(2027, 1, 1, 7));
  // The workbook was made in the temporary folder and removed.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()),
            static_cast<long>(std::count_if(fs::directory_iterator(dir_.path()),
                                            fs::directory_iterator(), [](const auto& e) {
                                              return e.path().filename().string().rfind("t.db", 0) == 0;
                                            })));
}

TEST_F(TemplateStageTest, TimesMissedWhileStoppedAreSentLateOnce) {
  TemplateStage stage(*storage_, clock_, options());
  ASSERT_TRUE(stage.process_due().ok());
  clock_.set(utc(2027, 2, 10, 12));  // stopped over 1 December, 1 January and 1 February
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->handled, utc(2027, 2, 1, 7));
  EXPECT_EQ(step->queued, 3u);
  EXPECT_FALSE(stage.process_due()->handled.has_value());
  EXPECT_EQ(queued().size(), 3u);
}

TEST_F(TemplateStageTest, AChangedScheduleStartsAfresh) {
  TemplateStage stage(*storage_, clock_, options());
  ASSERT_TRUE(stage.process_due().ok());
  TemplateStageOptions changed = options();
  changed.schedule = monthly("monthly 15 07:00");  // 15 November has passed
  stage.reload(changed);
  EXPECT_FALSE(stage.process_due()->handled.has_value());
  clock_.set(utc(2026, 12, 15, 7));
  EXPECT_EQ(stage.process_due()->queued, 3u);
}

TEST_F(TemplateStageTest, WithoutScheduleNothingIsDue) {
  TemplateStageOptions o = options();
  o.schedule.reset();
  TemplateStage stage(*storage_, clock_, o);
  EXPECT_FALSE(stage.next_due().has_value());
  clock_.set(utc(2027, 6, 1));
  EXPECT_FALSE(stage.process_due()->handled.has_value());
  EXPECT_TRUE(queued().empty());
}

TEST_F(TemplateStageTest, AFolderThatCannotBeWrittenFailsTheStepAndMarksNothing) {
  TemplateStageOptions o = options();
  o.tmpdir = dir_ / "missing";
  TemplateStage stage(*storage_, clock_, o);
  ASSERT_TRUE(stage.process_due().ok());
  clock_.set(utc(2026, 12, 1, 7));
  auto step = stage.process_due();
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.error().message().find("cannot write the template of Medan"), std::string::npos)
      << step.error().message();
  EXPECT_TRUE(queued().empty());
  stage.reload(options());  // the folder is back
  EXPECT_EQ(stage.process_due()->queued, 3u);
}

// --- The email ------------------------------------------------------------------------------

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd;
  return out;
}

json::object read_email(const fs::path& eml) {
  const fs::path tool = fs::path(STOCKWATCH_TESTS_DIR) / "support" / "template_tool.py";
  const std::string out =
      run(std::string(STOCKWATCH_PYTHON) + " " + tool.string() + " email " + eml.string());
  boost::system::error_code ec;
  json::value v = json::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return v.is_object() ? v.as_object() : json::object{};
}

TEST_F(TemplateStageTest, TheEmailCarriesTheSheetAsAnAttachmentPythonReads) {
  for (const char* language : {"en", "id"}) {
    SCOPED_TRACE(language);
    TempDir dir("templates");
    auto db = Storage::open(dir / "t.db", StorageOptions{}, clock_);
    test::load_rows(*db, clock_, {{"Medan", "Arabika Gayo", 24}, {"Medan", "Robusta Dairi", 0}},
                    "a.csv", "sha-a");
    TemplateStageOptions o = options();
    o.language = language;
    o.tmpdir = dir.path();
    clock_.set(utc(2026, 11, 20, 9));
    TemplateStage stage(*db, clock_, o);
    ASSERT_TRUE(stage.process_due().ok());
    clock_.set(utc(2026, 12, 1, 7, 0));
    ASSERT_EQ(stage.process_due()->queued, 2u);
    auto msgs = db->list_outbox(true, 10);
    ASSERT_TRUE(msgs.ok());
    const OutboxMessage& m = (*msgs)[0];
    auto eml = render_email(m);
    ASSERT_TRUE(eml.ok()) << eml.error().message();
    // Every retry sends the same bytes.
    EXPECT_EQ(*eml, *render_email(m));
    test::write_file(dir / "m.eml", *eml);

    const json::object e = read_email(dir / "m.eml");
    const bool id = std::string(language) == "id";
    EXPECT_EQ(e.at("subject").as_string(),
              id ? "Lembar hitung stok untuk Medan" : "Stock-count sheet for Medan");
    EXPECT_EQ(outbox_subject(m), std::string(e.at("subject").as_string()));
    EXPECT_EQ(e.at("content_type").as_string(), "multipart/mixed");
    EXPECT_TRUE(e.at("defects").as_array().empty()) << json::serialize(e);
    const json::array& parts = e.at("parts").as_array();
    ASSERT_EQ(parts.size(), 2u) << json::serialize(e);
    const json::object& text = parts[0].as_object();
    EXPECT_EQ(text.at("content_type").as_string(), "text/plain");
    const std::string body(text.at("text").as_string());
    EXPECT_NE(body.find(id ? "Isi kolom \"Jumlah\"" : "Fill in the column \"Count\""),
              std::string::npos) << body;
    // Dates as each language writes them (the catalog's "alert.time").
    EXPECT_NE(body.find(id ? "01/12/2026 07.00.00 UTC" : "2026-12-01 07:00:00 UTC"),
              std::string::npos) << body;
    EXPECT_NE(body.find(id ? "Medan: 2 barang," : "Medan: 2 items,"), std::string::npos) << body;
    const json::object& file = parts[1].as_object();
    EXPECT_EQ(file.at("content_type").as_string(),
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    EXPECT_EQ(file.at("filename").as_string(), "Medan.xlsx");
    EXPECT_EQ(file.at("disposition").as_string(), "attachment");
    EXPECT_TRUE(file.at("defects").as_array().empty());
    const json::object& sheet = file.at("sheet").as_object();
    EXPECT_EQ(json::serialize(sheet.at("header")),
              id ? R"(["Gudang","Barang","Hitungan terakhir","Jumlah"])"
                 : R"(["Store","Item","Last count","Count"])");
    EXPECT_EQ(json::serialize(sheet.at("rows")),
              R"([["Medan","Arabika Gayo",24,null],["Medan","Robusta Dairi",0,null]])");
    EXPECT_EQ(sheet.at("freeze_panes").as_string(), "A2");
    EXPECT_EQ(sheet.at("validations").as_array().size(), 1u);
  }
}

TEST(TemplateMail, AStoreNameOutsideAsciiNamesTheFileTheRfc2231Way) {
  TemplateMail mail{"Gudang Ségar/1", 1, TimePoint{}, "Count", "Last count", "PK\x03\x04"};
  OutboxMessage m;
  m.message_id = "template-x.1@example.com";
  m.event = "template";
  m.sender = "stockwatch@example.com";
  m.recipient = "owner@example.com";
  m.payload = encode_template_mail(mail);
  auto eml = render_email(m);
  ASSERT_TRUE(eml.ok());
  EXPECT_NE(eml->find("Gudang S=C3=A9gar/1: 1 item, with"), std::string::npos) << *eml;
  EXPECT_NE(eml->find("filename*=UTF-8''Gudang%20S%C3%A9gar_1.xlsx"), std::string::npos) << *eml;
  // The parts' boundary, and no line over 78 characters in the attachment.
  EXPECT_NE(eml->find("Content-Type: multipart/mixed; boundary=\"=_stockwatch_"),
            std::string::npos);
  EXPECT_NE(eml->find("\r\nUEsDBA==\r\n"), std::string::npos);
  m.payload = "{\"v\":1}";
  EXPECT_EQ(render_email(m).error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(outbox_subject(m), "");
}

}  // namespace
}  // namespace stockwatch

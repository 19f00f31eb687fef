#include "daemon/mute_command.hpp"

#include <chrono>
#include <algorithm>
#include <string_view>

#include "daemon/folders.hpp"
#include "store/storage.hpp"

namespace stockwatch {

Result<TimePoint> parse_until(const std::string& text) {
  // YYYY-MM-DD or YYYY-MM-DDTHH:MM, each place checked.
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd";
  const bool shaped = (text.size() == 10 || text.size() == 16) &&
                      std::equal(text.begin(), text.end(), kShape.begin(), [](char c, char want) {
                        return want == 'd' ? (c >= '0' && c <= '9') : c == want;
                      });
  if (!shaped) {
    return Error(ErrorCode::kInvalidInput, "--until '" + text +
                                               "' is not a date; write 2026-12-31 or "
                                               "2026-12-31T08:00 (UTC)");
  }
  const auto num = [&](std::size_t at, std::size_t n) { return std::stoi(text.substr(at, n)); };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2);
  const int h = text.size() == 16 ? num(11, 2) : 0, mi = text.size() == 16 ? num(14, 2) : 0;
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59) {
    return Error(ErrorCode::kInvalidInput, "--until '" + text + "' is not a real date and time");
  }
  return TimePoint(duration_cast<Duration>(sys_days(ymd).time_since_epoch() + hours(h) +
                                           minutes(mi)));
}

namespace {

std::string what(const Mute& m) {
  return m.item.empty() ? "every item of " + m.store : m.item + " in " + m.store;
}

}  // namespace

int run_mute_command(const Config& config, const Clock& clock, const MuteCommand& c,
                     std::ostream& out, std::ostream& err) {
  const std::string cmd = c.action == "unmute" ? "stockwatch unmute" : "stockwatch mute";
  // The arguments first: nothing is opened for a command that is refused.
  std::optional<TimePoint> until;
  if (c.action != "list") {
    if (c.store.empty()) {
      err << cmd << ": give --store (and --item for one item)\n";
      return 1;
    }
    if (c.item && c.item->empty()) {
      err << cmd << ": --item is empty; leave it out to mean every item of the store\n";
      return 1;
    }
  }
  if (c.action == "mute") {
    if (c.until.empty() == !c.until_change) {
      err << cmd << ": give exactly one of --until DATE or --until-change\n";
      return 1;
    }
    if (!c.until.empty()) {
      auto t = parse_until(c.until);
      if (!t) {
        err << cmd << ": " << t.error().message() << "\n";
        return 1;
      }
      if (*t <= clock.now()) {
        err << cmd << ": --until " << c.until << " is already past\n";
        return 1;
      }
      until = *t;
    }
  }
  try {
    ensure_database_dir(config.storage);
    auto db = Storage::open(config.storage.database, StorageOptions::from(config.storage), clock);
    if (c.action == "list") {
      auto all = db->mutes();
      if (!all) {
        err << cmd << " --list: " << all.error().message() << "\n";
        return 2;
      }
      if (all->empty()) out << "no mutes\n";
      const TimePoint now = clock.now();
      for (const auto& m : *all) {
        out << what(m) << ": ";
        if (m.until) {
          out << (now < *m.until ? "muted until " : "ended ")
              << format_utc(*m.until, "%Y-%m-%d %H:%M UTC");
        } else {
          out << "muted until its count changes";
        }
        out << " (set " << format_utc(m.created_at, "%Y-%m-%d %H:%M UTC") << ")\n";
      }
      return 0;
    }
    if (c.action == "mute") {
      Mute m;
      m.store = c.store;
      m.item = c.item.value_or("");
      m.until = until;
      m.until_change = c.until_change;
      m.created_at = clock.now();
      if (auto st = db->add_mute(m); !st.ok()) {
        err << cmd << ": " << st.message() << "\n";
        return 2;
      }
      out << "muted " << what(m) << " "
          << (until ? "until " + format_utc(*until, "%Y-%m-%d %H:%M UTC")
                    : std::string("until its count changes"))
          << "\n";
      return 0;
    }
    if (c.action == "unmute") {
      auto removed = c.item ? db->remove_mutes(c.store, std::string_view(*c.item))
                            : db->remove_mutes(c.store, std::nullopt);
      if (!removed) {
        err << cmd << ": " << removed.error().message() << "\n";
        return 2;
      }
      if (*removed == 0) {
        err << cmd << ": nothing is muted for " << (c.item ? *c.item + " in " : "") << c.store
            << " (see stockwatch mute --list)\n";
        return 1;
      }
      out << "unmuted " << *removed << (*removed == 1 ? " mute" : " mutes") << " of " << c.store
          << "\n";
      return 0;
    }
    err << "stockwatch: unknown mute action " << c.action << "\n";
    return 2;
  } catch (const StorageError& e) {
    err << cmd << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace stockwatch

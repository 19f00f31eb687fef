#include "base/time_zone.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <filesystem>
#include <vector>

#include "base/schedule.hpp"

namespace stockwatch {

namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

constexpr const char* kZoneDir = "/usr/share/zoneinfo/";
constexpr std::size_t kMaxFileBytes = 1 << 20;  // the largest zone is about 3 KB

// TZ as the process was started with it: `serve` later sets TZ to
// [console] timezone for the console's local times, and that must not
// become the alerts' "system" zone at a reload.
const std::string kStartTz = [] {
  const char* env = std::getenv("TZ");
  return std::string(env ? env : "");
}();

// One end of daylight-saving time in a POSIX TZ rule.
struct RuleDate {
  char kind = 'M';       // 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day)
  int day = 0;           // J/D: the day; M: the weekday (0 = Sunday)
  int week = 0;          // M: 1..5 (5 = the last)
  int month = 0;         // M: 1..12
  int time = 2 * 3600;   // seconds after local midnight, may be negative or past 24h
};

struct PosixRule {
  int std_offset = 0;    // seconds east of UTC
  bool has_dst = false;
  int dst_offset = 0;
  RuleDate start, end;
};

// --- POSIX TZ strings (the footer of a TZif file) ---------------------------

class RuleReader {
 public:
  explicit RuleReader(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }

  // "WIB", "<+0330>".
  bool abbreviation() {
    if (eat('<')) {
      const auto close = s_.find('>', i_);
      if (close == std::string_view::npos) return false;
      i_ = close + 1;
      return true;
    }
    const std::size_t from = i_;
    while (i_ < s_.size() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
    return i_ - from >= 3;
  }
  // [+-]hh[:mm[:ss]], hours up to 167; seconds.
  std::optional<int> time(bool allow_sign = true) {
    int sign = 1;
    if (allow_sign) {
      if (eat('-')) sign = -1;
      else eat('+');
    }
    auto num = [this](int max_digits) -> std::optional<int> {
      int v = 0, n = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9' && n < max_digits) {
        v = v * 10 + (s_[i_++] - '0');
        ++n;
      }
      if (n == 0) return std::nullopt;
      return v;
    };
    auto h = num(3);
    if (!h || *h > 167) return std::nullopt;
    int total = *h * 3600;
    if (eat(':')) {
      auto m = num(2);
      if (!m || *m > 59) return std::nullopt;
      total += *m * 60;
      if (eat(':')) {
        auto sec = num(2);
        if (!sec || *sec > 59) return std::nullopt;
        total += *sec;
      }
    }
    return sign * total;
  }
  std::optional<int> number() {
    int v = 0, n = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9' && n < 4) {
      v = v * 10 + (s_[i_++] - '0');
      ++n;
    }
    if (n == 0) return std::nullopt;
    return v;
  }
  std::optional<RuleDate> date() {
    RuleDate d;
    if (eat('J')) {
      d.kind = 'J';
      auto n = number();
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      d.day = *n;
    } else if (eat('M')) {
      d.kind = 'M';
      auto m = number();
      if (!m || *m < 1 || *m > 12 || !eat('.')) return std::nullopt;
      auto w = number();
      if (!w || *w < 1 || *w > 5 || !eat('.')) return std::nullopt;
      auto wd = number();
      if (!wd || *wd > 6) return std::nullopt;
      d.month = *m;
      d.week = *w;
      d.day = *wd;
    } else {
      d.kind = 'D';
      auto n = number();
      if (!n || *n > 365) return std::nullopt;
      d.day = *n;
    }
    if (eat('/')) {
      auto t = time();
      if (!t) return std::nullopt;
      d.time = *t;
    }
    return d;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::optional<PosixRule> parse_posix(std::string_view s) {
  RuleReader r(s);
  PosixRule p;
  if (!r.abbreviation()) return std::nullopt;
  auto off = r.time();
  if (!off) return std::nullopt;
  p.std_offset = -*off;  // POSIX counts west of UTC as positive
  if (r.done()) return p;
  if (!r.abbreviation()) return std::nullopt;
  p.has_dst = true;
  p.dst_offset = p.std_offset + 3600;
  if (r.peek() != ',' && !r.done()) {
    auto d = r.time();
    if (!d) return std::nullopt;
    p.dst_offset = -*d;
  }
  if (r.done()) {
    // No rule given: the United States' rule, as glibc assumes.
    p.start = {'M', 0, 2, 3, 7200};
    p.end = {'M', 0, 1, 11, 7200};
    return p;
  }
  if (!r.eat(',')) return std::nullopt;
  auto start = r.date();
  if (!start || !r.eat(',')) return std::nullopt;
  auto end = r.date();
  if (!end || !r.done()) return std::nullopt;
  p.start = *start;
  p.end = *end;
  return p;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The local midnight the rule date names in `year`, as days since the epoch.
sys_days rule_day(const RuleDate& d, int year) {
  using namespace std::chrono;
  const sys_days jan1 = sys_days(std::chrono::year(year) / January / 1);
  if (d.kind == 'J') {
    int n = d.day - 1;  // Feb 29 is never counted
    if (is_leap(year) && d.day >= 60) ++n;
    return jan1 + days(n);
  }
  if (d.kind == 'D') return jan1 + days(d.day);
  const auto ym = std::chrono::year(year) / month(static_cast<unsigned>(d.month));
  const sys_days first = sys_days(ym / 1);
  const unsigned first_wd = weekday(first).c_encoding();
  int day = 1 + (d.day - static_cast<int>(first_wd) + 7) % 7 + (d.week - 1) * 7;
  const int days_in_month = static_cast<int>(static_cast<unsigned>((ym / std::chrono::last).day()));
  while (day > days_in_month) day -= 7;
  return first + days(day - 1);
}

int posix_offset_at(const PosixRule& p, std::int64_t t) {
  if (!p.has_dst) return p.std_offset;
  const sys_days local_day = std::chrono::floor<days>(sys_seconds(seconds(t + p.std_offset)));
  const int year = static_cast<int>(std::chrono::year_month_day(local_day).year());
  const auto at = [&](const RuleDate& d, int y, int offset_before) {
    return static_cast<std::int64_t>(
               std::chrono::duration_cast<seconds>(rule_day(d, y).time_since_epoch()).count()) +
           d.time - offset_before;
  };
  // Walk the changes of the year before, this year and the next, in time
  // order; the last one at or before t decides.
  int offset = p.std_offset;
  std::int64_t best = INT64_MIN;
  for (int y = year - 1; y <= year + 1; ++y) {
    const std::int64_t start = at(p.start, y, p.std_offset);
    const std::int64_t end = at(p.end, y, p.dst_offset);
    if (start <= t && start > best) {
      best = start;
      offset = p.dst_offset;
    }
    if (end <= t && end > best) {
      best = end;
      offset = p.std_offset;
    }
  }
  return offset;
}

// --- TZif ----------------------------------------------------------------------

class Bytes {
 public:
  explicit Bytes(std::string_view b) : b_(b) {}
  bool has(std::size_t n) const { return b_.size() - i_ >= n; }
  std::int64_t be(int n) {
    std::uint64_t v = 0;
    for (int k = 0; k < n; ++k) v = (v << 8) | static_cast<unsigned char>(b_[i_ + k]);
    i_ += n;
    if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
  }
  std::uint8_t u8() { return static_cast<unsigned char>(b_[i_++]); }
  void skip(std::size_t n) { i_ += n; }
  std::size_t pos() const { return i_; }
  std::string_view rest() const { return b_.substr(i_); }

 private:
  std::string_view b_;
  std::size_t i_ = 0;
};

struct Header {
  char version = 0;
  std::int64_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
};

std::optional<Header> read_header(Bytes& in) {
  if (!in.has(44)) return std::nullopt;
  const std::string_view magic = in.rest().substr(0, 4);
  if (magic != "TZif") return std::nullopt;
  in.skip(4);
  Header h;
  h.version = static_cast<char>(in.u8());
  in.skip(15);
  h.isut = in.be(4);
  h.isstd = in.be(4);
  h.leap = in.be(4);
  h.time = in.be(4);
  h.type = in.be(4);
  h.chars = in.be(4);
  const auto sane = [](std::int64_t v) { return v >= 0 && v <= 1'000'000; };
  if (!sane(h.isut) || !sane(h.isstd) || !sane(h.leap) || !sane(h.time) || h.type < 1 ||
      h.type > 256 || !sane(h.chars)) {
    return std::nullopt;
  }
  return h;
}

std::size_t block_size(const Header& h, int time_bytes) {
  return static_cast<std::size_t>(h.time * time_bytes + h.time + h.type * 6 + h.chars +
                                  h.leap * (time_bytes + 4) + h.isstd + h.isut);
}

Error bad(const std::string& name, const std::string& why) {
  return Error(ErrorCode::kInvalidInput,
               "\"" + name + "\" is not a time zone this program can read (" + why +
                   "); give an IANA name such as \"Asia/Jakarta\" or an offset such as \"+07:00\"");
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  std::vector<std::int64_t> transitions;  // UTC seconds, ascending
  std::vector<int> offsets;               // the offset from each transition on
  int initial = 0;                        // before the first transition
  std::optional<PosixRule> rule;          // after the last one
};

TimeZone::TimeZone() {
  auto d = std::make_shared<Data>();
  d->name = "UTC";
  d_ = std::move(d);
}

TimeZone TimeZone::fixed(int offset_minutes) {
  auto d = std::make_shared<Data>();
  const int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  d->name = buf;
  d->initial = offset_minutes * 60;
  return TimeZone(std::move(d));
}

Result<TimeZone> TimeZone::from_posix(std::string_view rule, std::string name) {
  auto p = parse_posix(rule);
  if (!p) return bad(name, "the rule \"" + std::string(rule) + "\" cannot be read");
  auto d = std::make_shared<Data>();
  d->name = std::move(name);
  d->initial = p->std_offset;
  d->rule = *p;
  return TimeZone(std::move(d));
}

Result<TimeZone> TimeZone::from_tzif(std::string_view bytes, std::string name) {
  Bytes in(bytes);
  auto h = read_header(in);
  if (!h) return bad(name, "not a TZif file");
  int time_bytes = 4;
  if (h->version >= '2') {
    // Skip the 32-bit block; the 64-bit one that follows has every time.
    if (!in.has(block_size(*h, 4))) return bad(name, "the file is cut short");
    in.skip(block_size(*h, 4));
    h = read_header(in);
    if (!h) return bad(name, "the second header is damaged");
    time_bytes = 8;
  }
  if (!in.has(block_size(*h, time_bytes))) return bad(name, "the file is cut short");
  auto d = std::make_shared<Data>();
  d->name = std::move(name);
  std::vector<std::uint8_t> index(static_cast<std::size_t>(h->time));
  d->transitions.resize(static_cast<std::size_t>(h->time));
  for (auto& t : d->transitions) t = in.be(time_bytes);
  for (auto& i : index) i = in.u8();
  std::vector<int> type_offset(static_cast<std::size_t>(h->type));
  for (auto& o : type_offset) {
    const std::int64_t utoff = in.be(4);
    in.skip(2);  // isdst, abbreviation index
    if (utoff < -25 * 3600 || utoff > 26 * 3600) return bad(d->name, "an offset is out of range");
    o = static_cast<int>(utoff);
  }
  in.skip(static_cast<std::size_t>(h->chars + h->leap * (time_bytes + 4) + h->isstd + h->isut));
  for (std::size_t k = 0; k < index.size(); ++k) {
    if (index[k] >= type_offset.size()) return bad(d->name, "a transition names no type");
    if (k > 0 && d->transitions[k] <= d->transitions[k - 1]) {
      return bad(d->name, "the transitions are out of order");
    }
    d->offsets.push_back(type_offset[index[k]]);
  }
  d->initial = type_offset[0];
  if (time_bytes == 8) {
    // The footer: "\n<POSIX TZ>\n"; empty when the table says everything.
    const std::string_view rest = in.rest();
    if (rest.size() >= 2 && rest[0] == '\n') {
      const auto end = rest.find('\n', 1);
      const std::string_view tz = rest.substr(1, end == std::string_view::npos ? 0 : end - 1);
      if (!tz.empty()) {
        auto p = parse_posix(tz);
        if (!p) return bad(d->name, "its rule \"" + std::string(tz) + "\" cannot be read");
        d->rule = *p;
      }
    }
  }
  return TimeZone(std::move(d));
}

Result<TimeZone> TimeZone::load(std::string_view name_in) {
  std::string name(name_in);
  std::filesystem::path file;
  std::string shown = name;
  if (name.empty()) {
    // The system's: TZ (as the process started) when it names a zone
    // file, else /etc/localtime.
    std::string tz = kStartTz;
    if (!tz.empty() && tz[0] == ':') tz.erase(0, 1);
    std::error_code ec;
    if (!tz.empty() && tz.find("..") == std::string::npos &&
        std::filesystem::is_regular_file(tz[0] == '/' ? tz : kZoneDir + tz, ec)) {
      file = tz[0] == '/' ? std::filesystem::path(tz) : std::filesystem::path(kZoneDir + tz);
      shown = tz;
    } else if (std::filesystem::exists("/etc/localtime", ec)) {
      file = "/etc/localtime";
      shown = "system";
      // Shown by its name when it links into the database.
      const auto target = std::filesystem::canonical(file, ec).string();
      if (!ec && target.rfind(kZoneDir, 0) == 0) shown = target.substr(std::string(kZoneDir).size());
    } else {
      return TimeZone();
    }
  } else {
    if (name == "UTC" || name == "Z") return TimeZone();
    if (name[0] == '+' || name[0] == '-') {
      auto off = parse_utc_offset(name);
      if (!off) return off.error();
      return fixed(*off);
    }
    std::error_code ec;
    if (name.find("..") != std::string::npos || name[0] == '/' ||
        !std::filesystem::is_regular_file(kZoneDir + name, ec)) {
      return Error(ErrorCode::kInvalidInput,
                   "\"" + name + "\" is not a time zone of this system (" + kZoneDir +
                       "); give one such as \"Asia/Jakarta\" or an offset such as \"+07:00\", "
                       "or leave it out for the system's");
    }
    file = kZoneDir + name;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return bad(shown, "cannot read " + file.string());
  std::string bytes;
  bytes.resize(kMaxFileBytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > kMaxFileBytes) return bad(shown, file.string() + " is too large");
  return from_tzif(bytes, shown);
}

std::chrono::seconds TimeZone::offset_at(TimePoint t) const {
  const std::int64_t s = std::chrono::floor<seconds>(t).time_since_epoch().count();
  const Data& d = *d_;
  if (d.transitions.empty() || s >= d.transitions.back()) {
    if (d.rule) return seconds(posix_offset_at(*d.rule, s));
    return seconds(d.offsets.empty() ? d.initial : d.offsets.back());
  }
  const auto it = std::upper_bound(d.transitions.begin(), d.transitions.end(), s);
  if (it == d.transitions.begin()) return seconds(d.initial);
  return seconds(d.offsets[static_cast<std::size_t>(it - d.transitions.begin() - 1)]);
}

sys_seconds TimeZone::to_local(TimePoint t) const {
  return std::chrono::floor<seconds>(t) + offset_at(t);
}

TimePoint TimeZone::from_local(sys_seconds local) const {
  // The offsets a day before and a day after: changes are further apart
  // than that in every zone, so one of them is the offset at the answer.
  const TimePoint as_utc(local.time_since_epoch());
  const seconds before = offset_at(as_utc - days(1));
  const seconds after = offset_at(as_utc + days(1));
  const TimePoint a = as_utc - before, b = as_utc - after;
  const bool a_ok = to_local(a) == local, b_ok = to_local(b) == local;
  if (a_ok && b_ok) return std::min(a, b);  // twice: the first
  if (a_ok) return a;
  if (b_ok) return b;
  return a;  // in a gap: moved forward by it (read with the offset before)
}

const std::string& TimeZone::name() const { return d_->name; }

}  // namespace stockwatch

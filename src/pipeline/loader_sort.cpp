#include "pipeline/loader_sort.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "os/file_ops.hpp"

namespace stockwatch {

namespace {

constexpr std::uint64_t kWrittenBit = std::uint64_t{1} << 63;
constexpr std::size_t kMinRunBytes = 4 * 1024;
constexpr std::size_t kWriteBuffer = 256 * 1024;

// A spilled row, front-coded against the row before it in its run (a
// run's first row against empty names): seven varints, then the bytes of
// the store and of the item that follow what they share with the row
// before's. The varints: how many bytes the store shares with the row
// before's and how many follow, the same two for the item, the count and
// the extra (zigzag), and the line's difference from the row before's
// (zigzag; the written bit as the line's lowest bit). Sorted rows share
// most of their names ("Warehouse-0001", "Product-000..."): a row takes
// about a quarter of the bytes it would whole, and a report that spills
// writes and reads back that much less.
struct RecordHead {
  std::int64_t count;
  std::int64_t extra;
  std::uint64_t line;  // high bit: written
};

constexpr std::size_t kMaxVarint = 10;
constexpr std::size_t kMaxRecordHead = 7 * kMaxVarint;

// Writes `v` at `w` (at most kMaxVarint bytes) and moves `w` past it.
inline void put_varint(char*& w, std::uint64_t v) {
  while (v >= 0x80) {
    *w++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *w++ = static_cast<char>(v);
}

// Reads a varint from [p, stop); false if it does not end there.
bool read_varint(const char*& p, const char* stop, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; p < stop && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(*p++);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (b < 0x80) return true;
  }
  return false;
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// The line with the written bit moved to the lowest bit, so that
// differences between lines stay small; and back.
std::uint64_t line_code(std::uint64_t line) { return (line << 1) | (line >> 63); }
std::uint64_t line_of_code(std::uint64_t code) { return (code >> 1) | (code << 63); }

// Byte order, then length (std::string_view::compare), eight bytes at a
// time: names are short and share long prefixes ("Warehouse-0001"), where a
// call to memcmp per comparison was most of the sort's time.
int compare_bytes(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) {
      if constexpr (std::endian::native == std::endian::little) {
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
      }
      return x < y ? -1 : 1;
    }
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(a[i]), d = static_cast<unsigned char>(b[i]);
    if (c != d) return c < d ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

// Key order of SQLite's BINARY collation (bytes, then length), then line;
// or line alone.
int compare_rows(bool by_line, std::string_view s1, std::string_view i1, std::uint64_t l1,
                 std::string_view s2, std::string_view i2, std::uint64_t l2) {
  if (!by_line) {
    if (const int c = compare_bytes(s1, s2); c != 0) return c;
    if (const int c = compare_bytes(i1, i2); c != 0) return c;
  }
  l1 &= ~kWrittenBit;
  l2 &= ~kWrittenBit;
  return l1 < l2 ? -1 : l1 > l2 ? 1 : 0;
}

SortedRow to_row(std::string_view store, std::string_view item, std::int64_t count,
                 std::int64_t extra, std::uint64_t line) {
  return {store, item, count, extra, static_cast<std::size_t>(line & ~kWrittenBit),
          (line & kWrittenBit) != 0};
}

// How many of the first `limit` bytes a and b have the same.
std::size_t shared_bytes(std::string_view a, std::string_view b, std::size_t limit) {
  limit = std::min({limit, a.size(), b.size()});
  std::size_t i = 0;
  for (; i + 8 <= limit; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) break;
  }
  while (i < limit && a[i] == b[i]) ++i;
  return i;
}

// One spilled run, read back through its own buffer.
class RunCursor {
 public:
  RunCursor(int fd, std::uint64_t offset, std::uint64_t bytes, std::size_t buffer)
      : fd_(fd), next_(offset), left_(bytes), buf_(buffer) {}

  // Reads another run from its start, through the same buffer.
  void restart(std::uint64_t offset, std::uint64_t bytes) {
    next_ = offset;
    left_ = bytes;
    pos_ = end_ = len_ = 0;
    store_.clear();
    item_.clear();
    line_code_ = 0;
  }

  // Loads the next record; false at the end of the run.
  Result<bool> advance() {
    pos_ += len_;
    len_ = 0;
    if (pos_ == end_ && left_ == 0) return false;
    // A head takes at most kMaxRecordHead bytes, fewer at a run's end.
    const std::uint64_t in_run = end_ - pos_ + left_;
    const auto head_max = static_cast<std::size_t>(std::min<std::uint64_t>(kMaxRecordHead, in_run));
    if (auto st = need(head_max); !st.ok()) return st.error();
    const char* const start = buf_.data() + pos_;
    const char* p = start;
    std::uint64_t v[7];
    for (std::uint64_t& x : v) {
      if (!read_varint(p, start + head_max, x)) return damaged();
    }
    const auto head_len = static_cast<std::size_t>(p - start);
    if (v[0] > store_.size() || v[2] > item_.size() || v[1] > in_run || v[3] > in_run - v[1]) {
      return damaged();
    }
    const std::size_t len = head_len + v[1] + v[3];
    if (auto st = need(len); !st.ok()) return st.error();
    const char* names = buf_.data() + pos_ + head_len;
    store_.resize(v[0]);
    store_.append(names, v[1]);
    item_.resize(v[2]);
    item_.append(names + v[1], v[3]);
    line_code_ += static_cast<std::uint64_t>(unzigzag(v[6]));
    head_ = {unzigzag(v[4]), unzigzag(v[5]), line_of_code(line_code_)};
    len_ = len;
    return true;
  }

  [[nodiscard]] std::string_view store() const { return store_; }
  [[nodiscard]] std::string_view item() const { return item_; }
  [[nodiscard]] const RecordHead& head() const { return head_; }
  // The current row's merge key prefix (set by the merge after advance()).
  std::uint64_t prefix = 0;
  [[nodiscard]] std::size_t buffer_bytes() const { return buf_.size(); }

 private:
  // Makes sure `bytes` bytes from pos_ are in the buffer.
  Status need(std::size_t bytes) {
    if (end_ - pos_ >= bytes) return {};
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    if (buf_.size() < bytes) buf_.resize(bytes);  // a row longer than the buffer
    while (end_ < bytes) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size() - end_, left_));
      if (want == 0) return Error(ErrorCode::kIo, "a sorted run of the report ends early");
      const ssize_t n = ::pread(fd_, buf_.data() + end_, want, static_cast<off_t>(next_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("cannot read the report's sorted rows");
      if (n == 0) return Error(ErrorCode::kIo, "the report's sorted rows end early");
      end_ += static_cast<std::size_t>(n);
      next_ += static_cast<std::uint64_t>(n);
      left_ -= static_cast<std::uint64_t>(n);
    }
    return {};
  }

  int fd_;
  std::uint64_t next_;  // file offset of the bytes after the buffer's
  std::uint64_t left_;  // bytes of the run not yet read
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0, len_ = 0;
  RecordHead head_{};
  // The current row's names (each row's share the row before's), and its
  // line's code.
  std::string store_, item_;
  std::uint64_t line_code_ = 0;

  static Error damaged() { return Error(ErrorCode::kIo, "a sorted run of the report is damaged"); }
};

}  // namespace

RowSorter::RowSorter(RowSortOptions options)
    : options_(std::move(options)), in_order_(options_.by_line) {
  options_.run_bytes = std::max(options_.run_bytes, kMinRunBytes) & ~std::size_t{7};
}

Status RowSorter::add(std::string_view store, std::string_view item, std::int64_t count,
                      std::size_t line, bool written, std::int64_t extra) {
  if (drained_) return Error(ErrorCode::kInternal, "rows added to a drained sort");
  const std::size_t need = store.size() + item.size() + kRowBookkeeping + 8;
  if (arena_ && names_ + 8 + store.size() + item.size() + (entries_ + 1) * kRowBookkeeping >
                    arena_bytes_) {
    if (auto st = spill(); !st.ok()) return st;
  }
  if (!arena_ || need > arena_bytes_) {
    // A row longer than a whole run (only with names far beyond the
    // parser's limits) gets a run of its own size.
    arena_bytes_ = std::max(options_.run_bytes, (need + 7) & ~std::size_t{7});
    arena_ = std::make_unique_for_overwrite<char[]>(arena_bytes_);
    high_water_ = std::max(high_water_, arena_bytes_);
  }
  const auto off = static_cast<std::uint32_t>(names_);
  std::memcpy(arena_.get() + names_, store.data(), store.size());
  std::memcpy(arena_.get() + names_ + store.size(), item.data(), item.size());
  names_ += store.size() + item.size();
  ++entries_;
  *entries_begin() = Entry{off, static_cast<std::uint32_t>(store.size()),
                           static_cast<std::uint32_t>(item.size()), count, extra,
                           static_cast<std::uint64_t>(line) | (written ? kWrittenBit : 0)};
  if (line < last_line_) in_order_ = false;
  last_line_ = line;
  ++rows_;
  return {};
}

namespace {

// The bytes of `s` from `from` on, as many as fit in `n` (at most 8), in
// the high bytes of the result, padded with zeros: x < y whenever
// load_prefix(x) < load_prefix(y).
std::uint64_t load_prefix(std::string_view s, std::size_t from, std::size_t n) {
  unsigned char b[8] = {};
  if (from < s.size()) std::memcpy(b, s.data() + from, std::min(n, s.size() - from));
  std::uint64_t v;
  std::memcpy(&v, b, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// The 64-bit key prefix of rows whose stores share their first
// `store_from` bytes and whose items share their first `item_from`: when
// every store's rest fits in fewer than 8 bytes and none holds a zero byte,
// those bytes (zero-padded) tell stores apart exactly and the item's next
// bytes follow them; otherwise the prefix is the store's next 8 bytes alone.
// Either way x < y whenever of(x) < of(y).
class KeyPrefix {
 public:
  KeyPrefix(std::size_t store_from, std::size_t item_from, std::size_t longest_store,
            bool store_zero)
      : store_from_(store_from), item_from_(item_from) {
    const std::size_t rest = longest_store - std::min(longest_store, store_from);
    store_bytes_ = rest < 8 && !store_zero ? rest : 8;
  }
  [[nodiscard]] std::uint64_t of(std::string_view store, std::string_view item) const {
    std::uint64_t p = load_prefix(store, store_from_, store_bytes_);
    if (store_bytes_ < 8) {
      p |= load_prefix(item, item_from_, 8 - store_bytes_) >> (8 * store_bytes_);
    }
    return p;
  }

 private:
  std::size_t store_from_, item_from_, store_bytes_;
};

// Sorts `a` by `less`, whose first criterion is the 64-bit `prefix`: an
// in-place most-significant-byte radix sort on the prefix (no memory beyond
// the keys, so a run's bound stays what it was), then `less` itself among
// keys whose prefixes are equal and in small buckets. A comparison sort of
// a run's keys was the sorter's largest cost: about 17 comparisons a key
// against one pass per byte that differs.
template <class Key, class Less>
void sort_by_prefix(Key* a, std::size_t n, int shift, const Less& less) {
  constexpr std::size_t kSmall = 48;
  if (n < kSmall) {
    std::sort(a, a + n, less);
    return;
  }
  std::size_t count[256];
  while (true) {
    std::fill(std::begin(count), std::end(count), std::size_t{0});
    for (std::size_t i = 0; i < n; ++i) ++count[(a[i].prefix >> shift) & 0xFF];
    if (count[(a[0].prefix >> shift) & 0xFF] != n) break;
    // Every key has the same byte here: the next one decides.
    if (shift == 0) {
      std::sort(a, a + n, less);  // equal prefixes: the rest of the key, then the line
      return;
    }
    shift -= 8;
  }
  std::size_t next[256], end[256];
  std::size_t at = 0;
  for (int b = 0; b < 256; ++b) {
    next[b] = at;
    at += count[b];
    end[b] = at;
  }
  // Each key goes straight to its bucket, swapping out the key there.
  for (int b = 0; b < 256; ++b) {
    while (next[b] < end[b]) {
      Key v = a[next[b]];
      auto vb = static_cast<int>((v.prefix >> shift) & 0xFF);
      while (vb != b) {
        std::swap(v, a[next[vb]++]);
        vb = static_cast<int>((v.prefix >> shift) & 0xFF);
      }
      a[next[b]++] = v;
    }
  }
  std::size_t from = 0;
  for (int b = 0; b < 256; ++b) {
    const std::size_t len = end[b] - from;
    if (len > 1) {
      if (shift == 0) std::sort(a + from, a + end[b], less);
      else sort_by_prefix(a + from, len, shift - 8, less);
    }
    from = end[b];
  }
}

}  // namespace

const RowSorter::SortKey* RowSorter::sort_run() {
  Entry* first = entries_begin();
  const std::size_t n = entries_;
  // Rows arrive in file order at the arena's back, so the run is held in
  // reverse.
  std::reverse(first, first + n);
  // The keys go in the room add() kept free after the names.
  auto* keys = reinterpret_cast<SortKey*>(arena_.get() + ((names_ + 7) & ~std::size_t{7}));
  const auto store_of = [&](const Entry& e) { return name(e, 0, e.store_len); };
  const auto item_of = [&](const Entry& e) { return name(e, e.store_len, e.item_len); };
  if (options_.by_line) {
    for (std::size_t k = 0; k < n; ++k) keys[k] = {first[k].line & ~kWrittenBit, k};
  } else if (n > 0) {
    // Names in one run share long beginnings ("Warehouse-00", "Product-000"):
    // the prefix starts after what every store, and every item, shares. When
    // every store's rest fits in `a` bytes without a zero byte, the store part
    // tells stores apart exactly and the item's next bytes follow it;
    // otherwise the prefix is the store's alone.
    std::size_t s_lcp = first[0].store_len, i_lcp = first[0].item_len;
    for (std::size_t k = 1; k < n; ++k) {
      s_lcp = shared_bytes(store_of(first[0]), store_of(first[k]), s_lcp);
      i_lcp = shared_bytes(item_of(first[0]), item_of(first[k]), i_lcp);
    }
    // What every row of every run so far shares, for the merge: the runs'
    // first rows against the first run's, and each run's own.
    if (!shared_known_) {
      shared_known_ = true;
      first_store_.assign(store_of(first[0]));
      first_item_.assign(item_of(first[0]));
      store_lcp_ = first_store_.size();
      item_lcp_ = first_item_.size();
      store_zero_ = std::memchr(first_store_.data(), 0, first_store_.size()) != nullptr;
    }
    store_lcp_ = std::min(s_lcp, shared_bytes(first_store_, store_of(first[0]), store_lcp_));
    item_lcp_ = std::min(i_lcp, shared_bytes(first_item_, item_of(first[0]), item_lcp_));
    // The run's longest store, and a zero byte in a store after what the
    // run's stores share; for the merge, a zero byte anywhere (in that
    // shared beginning, the run's first store's, too).
    std::size_t longest = 0;
    bool rest_zero = false;
    for (std::size_t k = 0; k < n; ++k) {
      const std::string_view st = store_of(first[k]);
      longest = std::max(longest, st.size());
      if (!rest_zero && std::memchr(st.data() + s_lcp, 0, st.size() - s_lcp) != nullptr) {
        rest_zero = true;
      }
    }
    const std::string_view run_first = store_of(first[0]);
    if (rest_zero || std::memchr(run_first.data(), 0, run_first.size()) != nullptr) {
      store_zero_ = true;
    }
    longest_store_ = std::max(longest_store_, longest);
    const KeyPrefix prefix(s_lcp, i_lcp, longest, rest_zero);
    for (std::size_t k = 0; k < n; ++k) {
      keys[k] = {prefix.of(store_of(first[k]), item_of(first[k])), k};
    }
  }
  const auto less = [&](const SortKey& x, const SortKey& y) {
    if (x.prefix != y.prefix) return x.prefix < y.prefix;
    const Entry& e = first[x.index];
    const Entry& f = first[y.index];
    return compare_rows(options_.by_line, store_of(e), item_of(e), e.line, store_of(f),
                        item_of(f), f.line) < 0;
  };
  if (!std::is_sorted(keys, keys + n, less)) sort_by_prefix(keys, n, 56, less);
  return keys;
}

Status RowSorter::open_temp() {
  std::filesystem::path dir = options_.temp_dir;
  if (dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    dir = env && *env ? env : "/tmp";
  }
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A file system without unnamed files: a named one, removed at once.
    std::string name = (dir / "stockwatch-sort-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
  }
  if (fd < 0) return errno_error("cannot create a temporary file in " + dir.string() +
                                 " to sort the report's rows");
  file_ = UniqueFd(fd);
  return {};
}

Status RowSorter::spill() {
  if (entries_ == 0) return {};
  if (!file_) {
    if (auto st = open_temp(); !st.ok()) return st;
  }
  const SortKey* order = sort_run();
  const std::size_t out_bytes = std::min(kWriteBuffer, options_.run_bytes);
  high_water_ = std::max(high_water_, arena_bytes_ + out_bytes);
  std::vector<char> out(out_bytes);
  std::size_t used = 0;
  const Run run{file_bytes_, 0};
  const Entry* first = entries_begin();
  std::string_view last_store, last_item;  // the row before's, in the arena
  std::uint64_t last_code = 0;
  const auto flush_out = [&]() -> Status {
    if (auto st = write_all(file_.get(), {out.data(), used}, "the report's sorted rows");
        !st.ok()) {
      return st;
    }
    file_bytes_ += used;
    used = 0;
    return {};
  };
  // The rows are read in sorted order, from anywhere in the run: the
  // entry a few rows ahead, and its names a few rows less ahead, are
  // fetched into the cache early.
  constexpr std::size_t kEntryAhead = 16, kNamesAhead = 8;
  for (std::size_t k = 0; k < entries_; ++k) {
    if (k + kEntryAhead < entries_) __builtin_prefetch(&first[order[k + kEntryAhead].index]);
    if (k + kNamesAhead < entries_) __builtin_prefetch(arena_.get() + first[order[k + kNamesAhead].index].off);
    const Entry& e = first[order[k].index];
    const std::string_view store = name(e, 0, e.store_len);
    const std::string_view item = name(e, e.store_len, e.item_len);
    const std::size_t s_shared = shared_bytes(store, last_store, store.size());
    const std::size_t i_shared = shared_bytes(item, last_item, item.size());
    const std::size_t s_rest = store.size() - s_shared, i_rest = item.size() - i_shared;
    const std::size_t most = kMaxRecordHead + s_rest + i_rest;
    if (used + most > out.size()) {
      if (auto st = flush_out(); !st.ok()) return st;
      if (most > out.size()) out.resize(most);  // a row longer than the buffer
    }
    const std::uint64_t code = line_code(e.line);
    char* w = out.data() + used;
    put_varint(w, s_shared);
    put_varint(w, s_rest);
    put_varint(w, i_shared);
    put_varint(w, i_rest);
    put_varint(w, zigzag(e.count));
    put_varint(w, zigzag(e.extra));
    put_varint(w, zigzag(static_cast<std::int64_t>(code - last_code)));
    std::memcpy(w, store.data() + s_shared, s_rest);
    w += s_rest;
    std::memcpy(w, item.data() + i_shared, i_rest);
    w += i_rest;
    used = static_cast<std::size_t>(w - out.data());
    last_store = store;
    last_item = item;
    last_code = code;
  }
  if (auto st = flush_out(); !st.ok()) return st;
  runs_.push_back({run.offset, file_bytes_ - run.offset});
  names_ = 0;
  entries_ = 0;
  return {};
}

Status RowSorter::drain(const std::function<Status(const SortedRow&)>& take) {
  if (drained_) return Error(ErrorCode::kInternal, "a sort drained twice");
  drained_ = true;
  if (runs_.empty()) {
    // Everything fits in one run: sorted where it is.
    if (entries_ == 0) return {};
    const SortKey* order = sort_run();
    const Entry* first = entries_begin();
    for (std::size_t k = 0; k < entries_; ++k) {
      const Entry& e = first[order[k].index];
      if (auto st = take(to_row(name(e, 0, e.store_len), name(e, e.store_len, e.item_len),
                                e.count, e.extra, e.line));
          !st.ok()) {
        return st;
      }
    }
    return {};
  }
  if (auto st = spill(); !st.ok()) return st;
  arena_.reset();
  arena_bytes_ = 0;
  return in_order_ ? concatenate(take) : merge(take);
}

Status RowSorter::concatenate(const std::function<Status(const SortedRow&)>& take) {
  // One buffer at a time: a k-way merge would hold kMinReadBuffer for each
  // run, about 19 MiB for the copy of a 1 GB first load.
  const std::size_t buffer = std::max(kMinReadBuffer, options_.run_bytes);
  high_water_ = std::max(high_water_, buffer);
  RunCursor c(file_.get(), 0, 0, buffer);
  for (const Run& r : runs_) {
    c.restart(r.offset, r.bytes);
    while (true) {
      auto more = c.advance();
      if (!more) return more.error();
      if (!*more) break;
      const RecordHead& h = c.head();
      if (auto st = take(to_row(c.store(), c.item(), h.count, h.extra, h.line)); !st.ok()) {
        return st;
      }
    }
  }
  return {};
}

Status RowSorter::merge(const std::function<Status(const SortedRow&)>& take) {
  // write_all() moved the file position; the cursors use pread.
  const std::size_t share =
      std::max(kMinReadBuffer, (options_.run_bytes / runs_.size()) & ~std::size_t{7});
  std::vector<RunCursor> cursors;
  cursors.reserve(runs_.size());
  std::size_t buffers = 0;
  for (const Run& r : runs_) {
    cursors.emplace_back(file_.get(), r.offset, r.bytes, share);
    buffers += share;
  }
  high_water_ = std::max(high_water_, buffers);
  // Each run's current row carries a 64-bit prefix of its key that keeps
  // the order of every row added (made as sort_run() makes a run's, from
  // what all the rows share): most comparisons end there.
  const bool by_line = options_.by_line;
  const KeyPrefix key_prefix(store_lcp_, item_lcp_, longest_store_, store_zero_);
  const auto set_prefix = [&](RunCursor& c) {
    c.prefix = by_line ? c.head().line & ~kWrittenBit : key_prefix.of(c.store(), c.item());
  };
  const auto less = [by_line](const RunCursor* x, const RunCursor* y) {
    if (x->prefix != y->prefix) return x->prefix < y->prefix;
    return compare_rows(by_line, x->store(), x->item(), x->head().line, y->store(), y->item(),
                        y->head().line) < 0;
  };
  // A binary min-heap of the runs by their current row. The run whose row
  // was taken moves on and sinks from the top once (a pop and a push would
  // take two passes).
  std::vector<RunCursor*> heap;
  heap.reserve(cursors.size());
  for (RunCursor& c : cursors) {
    auto more = c.advance();
    if (!more) return more.error();
    if (*more) {
      set_prefix(c);
      heap.push_back(&c);
    }
  }
  const auto sink = [&](std::size_t i) {
    const std::size_t n = heap.size();
    RunCursor* moving = heap[i];
    while (true) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap[child + 1], heap[child])) ++child;
      if (!less(heap[child], moving)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = moving;
  };
  for (std::size_t i = heap.size() / 2; i-- > 0;) sink(i);
  while (!heap.empty()) {
    RunCursor* c = heap.front();
    const RecordHead& h = c->head();
    if (auto st = take(to_row(c->store(), c->item(), h.count, h.extra, h.line)); !st.ok()) return st;
    auto more = c->advance();
    if (!more) return more.error();
    if (*more) {
      set_prefix(*c);
    } else {
      heap.front() = heap.back();
      heap.pop_back();
      if (heap.empty()) break;
    }
    sink(0);
  }
  return {};
}

}  // namespace stockwatch

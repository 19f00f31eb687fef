#include "http/s3/upload_store.hpp"

#include "os/beneath.hpp"
#include "os/file_ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

namespace stockwatch {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPutPrefix = "put-";
constexpr const char* kPartPrefix = "part-";
constexpr const char* kUploadFile = "upload";

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool is_upload_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Parts are numbered 1 to 10000, as in S3.
bool is_part_number(int number) { return number >= 1 && number <= 10000; }

Error no_such_upload() { return Error(ErrorCode::kNotFound, "no such upload"); }

// "part-00042.<hex md5>"
std::string part_name(int number, std::string_view etag) {
  char head[16];
  std::snprintf(head, sizeof head, "part-%05d.", number);
  return std::string(head) + std::string(etag);
}

}  // namespace

// --- UploadSink ---------------------------------------------------------------

UploadSink::UploadSink(fs::path path, UniqueFd fd, ChecksumKind extra)
    : path_(std::move(path)), fd_(std::move(fd)), extra_kind_(extra) {
  switch (extra) {
    case ChecksumKind::kCrc32: extra_crc_.emplace(Crc32::Kind::kIso); break;
    case ChecksumKind::kCrc32c: extra_crc_.emplace(Crc32::Kind::kCastagnoli); break;
    case ChecksumKind::kSha1: extra_digest_.emplace(Digest::Kind::kSha1); break;
    case ChecksumKind::kSha256:
    case ChecksumKind::kNone: break;
  }
}

UploadSink::UploadSink(UploadSink&& o) noexcept
    : path_(std::exchange(o.path_, {})),
      fd_(std::move(o.fd_)),
      md5_(std::move(o.md5_)),
      sha256_(std::move(o.sha256_)),
      extra_kind_(o.extra_kind_),
      extra_digest_(std::move(o.extra_digest_)),
      extra_crc_(o.extra_crc_),
      size_(o.size_),
      finished_(o.finished_) {}

UploadSink& UploadSink::operator=(UploadSink&& o) noexcept {
  if (this != &o) {
    discard();
    path_ = std::exchange(o.path_, {});
    fd_ = std::move(o.fd_);
    md5_ = std::move(o.md5_);
    sha256_ = std::move(o.sha256_);
    extra_kind_ = o.extra_kind_;
    extra_digest_ = std::move(o.extra_digest_);
    extra_crc_ = o.extra_crc_;
    size_ = o.size_;
    finished_ = o.finished_;
  }
  return *this;
}

UploadSink::~UploadSink() { discard(); }

void UploadSink::discard() {
  fd_.reset();
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove(path_, ec);
    path_.clear();
  }
}

Status UploadSink::write(std::string_view data) {
  if (!fd_ || finished_) return Error(ErrorCode::kInternal, "upload already finished");
  md5_.update(data);
  sha256_.update(data);
  if (extra_digest_) extra_digest_->update(data);
  if (extra_crc_) extra_crc_->update(data);
  if (auto st = write_all(fd_.get(), data, "the upload to " + path_.parent_path().string());
      !st.ok()) {
    return st;
  }
  size_ += data.size();
  return {};
}

Result<BodyDigests> UploadSink::finish() {
  if (!fd_ || finished_) return Error(ErrorCode::kInternal, "upload already finished");
  finished_ = true;
  if (auto st = sync_fd(fd_.get(), "the upload to disk"); !st.ok()) return st.error();
  if (const int err = fd_.close(); err != 0) return errno_error("cannot close the upload", err);
  BodyDigests d;
  d.size = size_;
  d.md5 = md5_.finish();
  d.sha256 = sha256_.finish();
  if (extra_kind_ == ChecksumKind::kSha256) d.extra = d.sha256;
  if (extra_digest_) d.extra = extra_digest_->finish();
  if (extra_crc_) d.extra = extra_crc_->finish();
  return d;
}

// --- UploadStore --------------------------------------------------------------

UploadStore::UploadStore(fs::path inbox, const Clock& clock)
    : inbox_(std::move(inbox)), staging_(inbox_ / ".uploads"), clock_(clock) {
  std::error_code ec;
  fs::create_directories(staging_, ec);
  if (ec) {
    throw std::runtime_error("cannot create the upload folder " + staging_.string() + ": " +
                             ec.message());
  }
  // Single uploads and unfinished parts cut off by a stop or a crash.
  std::size_t removed = 0;
  for (fs::recursive_directory_iterator it(staging_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file(ec) && (starts_with(name, kPutPrefix) || name.find(".tmp-") != std::string::npos)) {
      std::error_code rm;
      if (fs::remove(it->path(), rm)) ++removed;
    }
  }
  if (removed > 0) {
    spdlog::info("http: removed {} upload(s) cut off before the last stop", removed);
  }
}

std::string UploadStore::fresh_name() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() ^ ++counter_));
  return buf;
}

namespace {
Result<UniqueFd> create_exclusive(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!fd) return errno_error("cannot create an upload file in " + path.parent_path().string());
  return fd;
}
}  // namespace

Result<UploadSink> UploadStore::begin_put(ChecksumKind extra) {
  const fs::path path = staging_ / (kPutPrefix + fresh_name() + ".part");
  auto fd = create_exclusive(path);
  if (!fd) return fd.error();
  return UploadSink(path, std::move(*fd), extra);
}

Status UploadStore::commit(UploadSink&& sink, std::string_view key) {
  UploadSink owned = std::move(sink);
  if (owned.path_.empty()) return Error(ErrorCode::kInternal, "nothing to commit");
  const std::string k(key);
  const auto slash = k.rfind('/');
  const std::string folder = slash == std::string::npos ? "" : k.substr(0, slash);
  const std::string name = slash == std::string::npos ? k : k.substr(slash + 1);
  // Folder by folder, never through a symbolic link: an upload lands inside
  // the inbox or nowhere. New folders are synced as they are made.
  auto root = open_root(inbox_);
  if (!root) return root.error();
  auto dir = open_dir_beneath(root->get(), folder, true);
  if (!dir) return dir.error();
  auto placed = place_without_replacing_at(owned.path_, dir->get(), name);
  if (!placed) return placed.error();
  if (!*placed) {
    // Only a report waiting to be loaded goes away by itself; a link or a
    // folder under that name never does.
    struct stat st {};
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
      return Error(ErrorCode::kInvalidInput,
                   k + " is taken in the inbox by a " +
                       (S_ISLNK(st.st_mode) ? "symbolic link" : S_ISDIR(st.st_mode) ? "folder" : "special file") +
                       ", not by a report; choose another name");
    }
    return Error(ErrorCode::kBusy,
                 "a report named " + k + " is still waiting in the inbox");
  }
  owned.path_.clear();  // placed: the sink must not remove it
  return sync_fd(dir->get(), "the folder of " + k);
}

Result<std::string> UploadStore::create_multipart(std::string_view key, std::string_view owner) {
  const std::string id = fresh_name();
  const fs::path dir = staging_ / id;
  std::error_code ec;
  if (!fs::create_directory(dir, ec) || ec) {
    return Error(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  }
  std::ofstream out(dir / kUploadFile, std::ios::binary);
  out << key << '\n' << owner << '\n';
  out.close();
  if (!out) {
    fs::remove_all(dir, ec);
    return Error(ErrorCode::kIo, "cannot write " + (dir / kUploadFile).string());
  }
  return id;
}

Result<MultipartUpload> UploadStore::find_multipart(std::string_view upload_id) const {
  if (!is_upload_id(upload_id)) {
    return Error(ErrorCode::kNotFound, "no such upload");
  }
  std::ifstream in(staging_ / std::string(upload_id) / kUploadFile, std::ios::binary);
  MultipartUpload u;
  if (!in || !std::getline(in, u.key)) return Error(ErrorCode::kNotFound, "no such upload");
  std::getline(in, u.owner);
  u.id = std::string(upload_id);
  return u;
}

Result<UploadSink> UploadStore::begin_part(const MultipartUpload& upload, int part_number,
                                           ChecksumKind extra) {
  // An id that was not made here ("", "..") must not name another folder.
  if (!is_upload_id(upload.id)) return no_such_upload();
  if (!is_part_number(part_number)) {
    return Error(ErrorCode::kInvalidInput, "part numbers are 1 to 10000");
  }
  const fs::path path =
      staging_ / upload.id / (part_name(part_number, "") + "tmp-" + fresh_name());
  auto fd = create_exclusive(path);
  if (!fd) return fd.error();
  return UploadSink(path, std::move(*fd), extra);
}

Result<std::string> UploadStore::commit_part(UploadSink&& sink, const MultipartUpload& upload,
                                             int part_number, const BodyDigests& digests) {
  UploadSink owned = std::move(sink);
  if (!is_upload_id(upload.id)) return no_such_upload();
  if (!is_part_number(part_number)) {
    return Error(ErrorCode::kInvalidInput, "part numbers are 1 to 10000");
  }
  if (owned.path_.empty()) return Error(ErrorCode::kInternal, "nothing to commit");
  const fs::path dir = staging_ / upload.id;
  const std::string etag = to_hex(digests.md5);
  const std::string prefix = part_name(part_number, "");
  const fs::path target = dir / part_name(part_number, etag);
  // Kept first, so a failure leaves the earlier upload of the part in place.
  if (::rename(owned.path_.c_str(), target.c_str()) != 0) return errno_error("cannot keep the part");
  owned.path_.clear();
  // An earlier upload of the same part number is replaced.
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (starts_with(name, prefix) && name.find(".tmp-") == std::string::npos &&
        it->path() != target) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
  return etag;
}

Result<UploadStore::Assembled> UploadStore::assemble(const MultipartUpload& upload,
                                                     const std::vector<CompletedPart>& parts) {
  Assembled out;
  if (!is_upload_id(upload.id)) return no_such_upload();
  const fs::path dir = staging_ / upload.id;
  std::map<int, std::pair<std::string, fs::path>> stored;  // number -> (etag, file)
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!starts_with(name, kPartPrefix) || name.find(".tmp-") != std::string::npos) continue;
    const auto dot = name.find('.');
    if (dot == std::string::npos) continue;
    const int number = std::atoi(name.substr(5, dot - 5).c_str());
    stored[number] = {name.substr(dot + 1), it->path()};
  }
  if (ec) return Error(ErrorCode::kIo, "cannot read " + dir.string() + ": " + ec.message());
  int previous = 0;
  for (const auto& p : parts) {
    if (p.number <= previous) {
      out.error = S3Error{400, "InvalidPartOrder",
                          "The list of parts was not in ascending order. Parts must be ordered by "
                          "part number."};
      return out;
    }
    previous = p.number;
    auto it = stored.find(p.number);
    if (it == stored.end() || it->second.first != p.etag) {
      out.error = S3Error{400, "InvalidPart",
                          "One or more of the specified parts could not be found or its ETag did "
                          "not match: part " + std::to_string(p.number)};
      return out;
    }
  }
  auto sink = begin_put();
  if (!sink) return sink.error();
  Digest of_md5s(Digest::Kind::kMd5);
  for (const auto& p : parts) {
    const auto& [etag, file] = stored[p.number];
    const std::string what = "part " + std::to_string(p.number);
    UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return errno_error("cannot read " + what);
    Status written;
    auto read = read_chunks(in.get(), 256 * 1024, what, [&](std::string_view c) {
      written = sink->write(c);
      return written.ok();
    });
    if (!read.ok()) return read.error();
    if (!written.ok()) return written.error();
    of_md5s.update(from_hex(etag).value_or(""));
  }
  out.etag = to_hex(of_md5s.finish()) + "-" + std::to_string(parts.size());
  out.sink.emplace(std::move(*sink));
  return out;
}

Status UploadStore::remove_multipart(const MultipartUpload& upload) {
  // An empty id would name the whole staging folder.
  if (!is_upload_id(upload.id)) return no_such_upload();
  std::error_code ec;
  fs::remove_all(staging_ / upload.id, ec);
  if (ec) return Error(ErrorCode::kIo, "cannot remove upload " + upload.id + ": " + ec.message());
  return {};
}

std::size_t UploadStore::sweep(Duration max_age) {
  std::size_t removed = 0;
  std::error_code ec;
  const auto now = clock_.now();
  for (fs::directory_iterator it(staging_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || !is_upload_id(it->path().filename().string())) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    const TimePoint touched = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    if (now - touched > max_age) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
      ++removed;
    }
  }
  return removed;
}

}  // namespace stockwatch

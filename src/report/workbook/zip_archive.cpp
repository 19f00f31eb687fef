#include "report/workbook/zip_archive.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <utility>

namespace stockwatch::workbook {

namespace {

constexpr std::uint64_t kRatioFloor = 1024 * 1024;  // small entries may compress well

Error zip_failure(const std::string& what, zip_error_t* err) {
  return Error(ErrorCode::kInvalidInput, what + ": " + zip_error_strerror(err));
}

bool unsafe_name(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.front() == '\\') return true;
  if (name.size() >= 2 && name[1] == ':') return true;  // "C:..."
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

void ZipEntry::Closer::operator()(zip_file* f) const { zip_fclose(f); }
void ZipArchive::Closer::operator()(zip* z) const { zip_discard(z); }

ZipEntry::ZipEntry(zip_file* f, std::string name, std::uint64_t compressed, ZipCaps caps)
    : file_(f), name_(std::move(name)), compressed_(compressed), caps_(caps) {}

Status ZipEntry::read(std::string& buf, std::size_t chunk) {
  buf.resize(chunk);
  const zip_int64_t n = zip_fread(file_.get(), buf.data(), chunk);
  if (n < 0) {
    buf.clear();
    return Error(ErrorCode::kInvalidInput,
                 "the workbook is damaged (" + name_ + ": " +
                     zip_error_strerror(zip_file_get_error(file_.get())) + ")");
  }
  buf.resize(static_cast<std::size_t>(n));
  inflated_ += static_cast<std::uint64_t>(n);
  if (inflated_ > caps_.max_inflated_bytes ||
      (inflated_ > kRatioFloor && inflated_ / std::max<std::uint64_t>(compressed_, 1) >
                                      caps_.max_ratio)) {
    buf.clear();
    return Error(ErrorCode::kInvalidInput,
                 "the workbook unpacks to far more than its size (" + name_ +
                     "), as a zip bomb does; save it again from the spreadsheet program");
  }
  return Status::ok_status();
}

Result<ZipArchive> ZipArchive::open_fd(int fd, ZipCaps caps) {
  // libzip closes the descriptor it is given once the archive is closed
  // (and leaves it open when zip_fdopen fails): it gets its own copy.
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    return Error(ErrorCode::kIo, std::string("the workbook cannot be read: ") + std::strerror(errno));
  }
  int code = 0;
  zip_t* z = zip_fdopen(copy, ZIP_RDONLY, &code);
  if (z == nullptr) {
    ::close(copy);
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    Error e = zip_failure("the workbook cannot be opened as a zip archive", &err);
    zip_error_fini(&err);
    return e;
  }
  return ZipArchive(z, caps);
}

Result<ZipArchive> ZipArchive::open_memory(std::string_view bytes, ZipCaps caps) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  if (src == nullptr) {
    Error e = zip_failure("the workbook cannot be read", &err);
    zip_error_fini(&err);
    return e;
  }
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &err);
  if (z == nullptr) {
    zip_source_free(src);
    Error e = zip_failure("the workbook cannot be opened as a zip archive", &err);
    zip_error_fini(&err);
    return e;
  }
  zip_error_fini(&err);
  return ZipArchive(z, caps);
}

Status ZipArchive::check_entries() const {
  const zip_int64_t n = zip_get_num_entries(zip_.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 ||
        (st.valid & ZIP_STAT_NAME) == 0) {
      return Error(ErrorCode::kInvalidInput, "the workbook is damaged (an unreadable entry)");
    }
    if (unsafe_name(st.name)) {
      return Error(ErrorCode::kInvalidInput,
                   "the workbook holds an entry named outside the archive; save it again "
                   "from the spreadsheet program");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE) {
      return Error(ErrorCode::kInvalidInput,
                   "the workbook is protected with a password; save it without one");
    }
  }
  return Status::ok_status();
}

bool ZipArchive::has(const std::string& name) const {
  return zip_name_locate(zip_.get(), name.c_str(), 0) >= 0;
}

Result<ZipEntry> ZipArchive::open(const std::string& name) const {
  const zip_int64_t index = zip_name_locate(zip_.get(), name.c_str(), 0);
  if (index < 0) {
    return Error(ErrorCode::kInvalidInput, "the workbook has no " + name);
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &st) != 0) {
    return Error(ErrorCode::kInvalidInput, "the workbook is damaged (" + name + ")");
  }
  const std::uint64_t compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
  if ((st.valid & ZIP_STAT_SIZE) && st.size > caps_.max_inflated_bytes) {
    return Error(ErrorCode::kInvalidInput,
                 "the workbook unpacks to far more than its size (" + name +
                     "), as a zip bomb does; save it again from the spreadsheet program");
  }
  zip_file_t* f = zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0);
  if (f == nullptr) {
    zip_error_t* err = zip_get_error(zip_.get());
    if (zip_error_code_zip(err) == ZIP_ER_NOPASSWD || zip_error_code_zip(err) == ZIP_ER_WRONGPASSWD) {
      return Error(ErrorCode::kInvalidInput,
                   "the workbook is protected with a password; save it without one");
    }
    return Error(ErrorCode::kInvalidInput, "the workbook is damaged (" + name + ": " +
                                               zip_error_strerror(err) + ")");
  }
  return ZipEntry(f, name, compressed, caps_);
}

Result<std::string> ZipArchive::read_small(const std::string& name, std::size_t max_bytes) const {
  Result<ZipEntry> entry = open(name);
  if (!entry.ok()) return entry.error();
  std::string out;
  std::string buf;
  for (;;) {
    Status s = entry.value().read(buf, 4096);
    if (!s.ok()) return s.error();
    if (buf.empty()) return out;
    out += buf;
    if (out.size() > max_bytes) {
      return Error(ErrorCode::kInvalidInput, "the workbook's " + name + " is too large");
    }
  }
}

FileKind sniff(std::string_view head, std::string_view ole_scan) {
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    return FileKind::kZip;
  }
  static constexpr char kOle[] = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
  if (head.size() >= 8 && head.substr(0, 8) == std::string_view(kOle, 8)) {
    // The stream name in the OLE directory, in UTF-16LE.
    static constexpr char kName[] = "EncryptedPackage";
    std::string utf16;
    for (const char c : std::string_view(kName)) {
      utf16.push_back(c);
      utf16.push_back('\0');
    }
    return ole_scan.find(utf16) != std::string_view::npos ? FileKind::kOleEncrypted
                                                          : FileKind::kOleLegacy;
  }
  if (head.empty()) return FileKind::kOther;
  for (const char c : head) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0 || (u < 0x20 && c != '\n' && c != '\r' && c != '\t')) return FileKind::kOther;
  }
  return FileKind::kText;
}

}  // namespace stockwatch::workbook

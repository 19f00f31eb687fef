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

// A problem whose reason is libzip's own words.
WorkbookProblem zip_failure(ProblemCode code, zip_error_t* err) {
  return WorkbookProblem(code, {{"reason", zip_error_strerror(err)}});
}

WorkbookProblem zip_bomb(const std::string& name) {
  return WorkbookProblem(ProblemCode::kWorkbookZipBomb, {{"part", name}});
}

// Damaged, with the entry's name and libzip's words when there are some.
WorkbookProblem damaged(const std::string& detail) {
  return WorkbookProblem(ProblemCode::kWorkbookDamaged, {{"detail", detail}});
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

std::optional<WorkbookProblem> ZipEntry::read(std::string& buf, std::size_t chunk) {
  buf.resize(chunk);
  const zip_int64_t n = zip_fread(file_.get(), buf.data(), chunk);
  if (n < 0) {
    buf.clear();
    return damaged(name_ + ": " + zip_error_strerror(zip_file_get_error(file_.get())));
  }
  buf.resize(static_cast<std::size_t>(n));
  inflated_ += static_cast<std::uint64_t>(n);
  if (inflated_ > caps_.max_inflated_bytes ||
      (inflated_ > kRatioFloor && inflated_ / std::max<std::uint64_t>(compressed_, 1) >
                                      caps_.max_ratio)) {
    buf.clear();
    return zip_bomb(name_);
  }
  return std::nullopt;
}

WorkbookResult<ZipArchive> ZipArchive::open_fd(int fd, ZipCaps caps) {
  // libzip closes the descriptor it is given once the archive is closed
  // (and leaves it open when zip_fdopen fails): it gets its own copy.
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    return WorkbookProblem(ProblemCode::kWorkbookCannotRead, {{"reason", std::strerror(errno)}});
  }
  int code = 0;
  zip_t* z = zip_fdopen(copy, ZIP_RDONLY, &code);
  if (z == nullptr) {
    ::close(copy);
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    WorkbookProblem p = zip_failure(ProblemCode::kWorkbookNotZip, &err);
    zip_error_fini(&err);
    return p;
  }
  return ZipArchive(z, caps);
}

WorkbookResult<ZipArchive> ZipArchive::open_memory(std::string_view bytes, ZipCaps caps) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  if (src == nullptr) {
    WorkbookProblem p = zip_failure(ProblemCode::kWorkbookCannotRead, &err);
    zip_error_fini(&err);
    return p;
  }
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &err);
  if (z == nullptr) {
    zip_source_free(src);
    WorkbookProblem p = zip_failure(ProblemCode::kWorkbookNotZip, &err);
    zip_error_fini(&err);
    return p;
  }
  zip_error_fini(&err);
  return ZipArchive(z, caps);
}

std::optional<WorkbookProblem> ZipArchive::check_entries() const {
  const zip_int64_t n = zip_get_num_entries(zip_.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 ||
        (st.valid & ZIP_STAT_NAME) == 0) {
      return WorkbookProblem(ProblemCode::kWorkbookDamagedEntry);
    }
    if (unsafe_name(st.name)) {
      return WorkbookProblem(ProblemCode::kWorkbookOutsideEntry);
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE) {
      return WorkbookProblem(ProblemCode::kWorkbookPassword);
    }
  }
  return std::nullopt;
}

bool ZipArchive::has(const std::string& name) const {
  return zip_name_locate(zip_.get(), name.c_str(), 0) >= 0;
}

WorkbookResult<ZipEntry> ZipArchive::open(const std::string& name) const {
  const zip_int64_t index = zip_name_locate(zip_.get(), name.c_str(), 0);
  if (index < 0) {
    return WorkbookProblem(ProblemCode::kWorkbookMissingPart, {{"part", name}});
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &st) != 0) {
    return damaged(name);
  }
  const std::uint64_t compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
  if ((st.valid & ZIP_STAT_SIZE) && st.size > caps_.max_inflated_bytes) return zip_bomb(name);
  zip_file_t* f = zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0);
  if (f == nullptr) {
    zip_error_t* err = zip_get_error(zip_.get());
    if (zip_error_code_zip(err) == ZIP_ER_NOPASSWD || zip_error_code_zip(err) == ZIP_ER_WRONGPASSWD) {
      return WorkbookProblem(ProblemCode::kWorkbookPassword);
    }
    return damaged(name + ": " + zip_error_strerror(err));
  }
  return ZipEntry(f, name, compressed, caps_);
}

WorkbookResult<std::string> ZipArchive::read_small(const std::string& name,
                                                   std::size_t max_bytes) const {
  WorkbookResult<ZipEntry> entry = open(name);
  if (!entry.ok()) return entry.error();
  std::string out;
  std::string buf;
  for (;;) {
    if (auto p = entry.value().read(buf, 4096)) return std::move(*p);
    if (buf.empty()) return out;
    out += buf;
    if (out.size() > max_bytes) {
      return WorkbookProblem(ProblemCode::kWorkbookPartTooLarge, {{"part", name}});
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

// A zip archive opened read-only with libzip, and one entry read as a stream.
//
// Contract:
// - ZipArchive owns its zip_t (move-only); ZipEntry owns its zip_file_t and
//   borrows the archive, which must outlive it.
// - ZipArchive::open_memory() borrows the bytes: they must outlive the
//   archive. open_fd() reads an open file through libzip (no copy in
//   memory) from its own duplicate of the descriptor, which it closes; the
//   caller keeps `fd`, and its file position is moved (libzip seeks).
// - read() hands back inflated bytes in chunks of at most `chunk` bytes and
//   refuses to go past the caps on the inflated size and on the compression
//   ratio, so a zip bomb costs one chunk of memory and stops there.
// - Failures are [[nodiscard]] values: a WorkbookProblem with its code and
//   values (workbook_problem.hpp), raised here where the archive says what
//   is wrong; libzip's own words are passed on as a value.
// - Not thread-safe; one archive per reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "report/workbook/workbook_problem.hpp"

struct zip;
struct zip_file;

namespace stockwatch::workbook {

struct ZipCaps {
  std::uint64_t max_inflated_bytes = 512ULL * 1024 * 1024;  // per entry
  std::uint64_t max_ratio = 200;            // inflated / compressed, past 1 MiB
};

class ZipEntry {
 public:
  ZipEntry(ZipEntry&&) noexcept = default;
  ZipEntry& operator=(ZipEntry&&) noexcept = default;
  ZipEntry(const ZipEntry&) = delete;
  ZipEntry& operator=(const ZipEntry&) = delete;

  // The next inflated bytes into `buf` (resized to what was read); an empty
  // buffer means the end of the entry.
  [[nodiscard]] std::optional<WorkbookProblem> read(std::string& buf, std::size_t chunk);

 private:
  friend class ZipArchive;
  struct Closer {
    void operator()(zip_file* f) const;
  };
  ZipEntry(zip_file* f, std::string name, std::uint64_t compressed, ZipCaps caps);

  std::unique_ptr<zip_file, Closer> file_;
  std::string name_;
  std::uint64_t compressed_ = 0;
  std::uint64_t inflated_ = 0;
  ZipCaps caps_;
};

class ZipArchive {
 public:
  [[nodiscard]] static WorkbookResult<ZipArchive> open_fd(int fd, ZipCaps caps);
  [[nodiscard]] static WorkbookResult<ZipArchive> open_memory(std::string_view bytes, ZipCaps caps);

  ZipArchive(ZipArchive&&) noexcept = default;
  ZipArchive& operator=(ZipArchive&&) noexcept = default;
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // Checks every entry's name and encryption: an entry whose name climbs
  // out of the archive ("../", an absolute path) or an encrypted entry
  // makes the whole archive refused.
  [[nodiscard]] std::optional<WorkbookProblem> check_entries() const;
  [[nodiscard]] bool has(const std::string& name) const;
  [[nodiscard]] WorkbookResult<ZipEntry> open(const std::string& name) const;
  // A small entry read whole (at most `max_bytes`), e.g. "mimetype".
  [[nodiscard]] WorkbookResult<std::string> read_small(const std::string& name,
                                                       std::size_t max_bytes) const;

 private:
  struct Closer {
    void operator()(zip* z) const;
  };
  explicit ZipArchive(zip* z, ZipCaps caps) : zip_(z), caps_(caps) {}
  std::unique_ptr<zip, Closer> zip_;
  ZipCaps caps_;
};

// What the first bytes of a file say it is.
enum class FileKind : std::uint8_t { kZip, kOleEncrypted, kOleLegacy, kText, kOther };
// `head` is the start of the file; `ole_scan` as much of an OLE file as is
// searched for the "EncryptedPackage" stream (the whole file when small).
FileKind sniff(std::string_view head, std::string_view ole_scan);

}  // namespace stockwatch::workbook

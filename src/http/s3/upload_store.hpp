// Where S3 uploads are written: the filesystem side of the S3-compatible
// endpoint, and the narrow interface an object-store inbox will implement.
//
// Contract:
// - An upload is written under the inbox's hidden staging folder
//   (<inbox>/.uploads, ignored by the inbox because its name starts with a
//   dot, and on the same filesystem), and appears under its key in the
//   inbox only when it is complete and verified: synced to disk, then
//   renamed into place (never over an existing file), then the folder
//   synced. So the inbox never sees half an upload, and a 200 reply means
//   the report survives a power cut.
// - An UploadSink that is neither committed nor kept is removed by its
//   destructor: a cut-off upload leaves nothing behind.
// - Multipart uploads keep their parts in <inbox>/.uploads/<upload id>/
//   until completed or aborted; start-up removes single uploads left by a
//   crash, and sweep() removes multipart uploads older than a given age.
// - Blocking file I/O. Not thread-safe: use one UploadStore from one thread
//   (the HTTP thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "crypto/digest.hpp"
#include "base/result.hpp"
#include "http/s3/s3_protocol.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

// Which extra checksum the client sent (x-amz-checksum-<algorithm>).
enum class ChecksumKind { kNone, kCrc32, kCrc32c, kSha1, kSha256 };

// The digests of a body, raw bytes.
struct BodyDigests {
  std::string md5;
  std::string sha256;
  std::string extra;            // the checksum asked for, if any
  std::uint64_t size = 0;
};

// One body being written to a staging file. Move-only.
class UploadSink {
 public:
  UploadSink(UploadSink&&) noexcept;
  UploadSink& operator=(UploadSink&&) noexcept;
  UploadSink(const UploadSink&) = delete;
  UploadSink& operator=(const UploadSink&) = delete;
  ~UploadSink();   // removes the staging file unless it was committed

  // Appends and hashes. Fails with kIo (a full disk, say).
  [[nodiscard]] Status write(std::string_view data);
  // Syncs the file and returns its digests; call once, before commit.
  [[nodiscard]] Result<BodyDigests> finish();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::uint64_t size() const { return size_; }

 private:
  friend class UploadStore;
  UploadSink(std::filesystem::path path, UniqueFd fd, ChecksumKind extra);
  void discard();
  std::filesystem::path path_;
  UniqueFd fd_;
  Digest md5_{Digest::Kind::kMd5};
  Digest sha256_{Digest::Kind::kSha256};
  ChecksumKind extra_kind_ = ChecksumKind::kNone;
  std::optional<Digest> extra_digest_;
  std::optional<Crc32> extra_crc_;
  std::uint64_t size_ = 0;
  bool finished_ = false;
};

// A multipart upload as stored.
struct MultipartUpload {
  std::string id;
  std::string key;
  std::string owner;            // the access key that started it ("" = anonymous)
};

class UploadStore {
 public:
  // `inbox` must exist. Creates the staging folder and removes single
  // uploads left behind by a crash. Throws std::runtime_error when the
  // staging folder cannot be created (a start-up error).
  UploadStore(std::filesystem::path inbox, const Clock& clock);

  // A new staging file for a single PUT.
  [[nodiscard]] Result<UploadSink> begin_put(ChecksumKind extra = ChecksumKind::kNone);
  // Places a finished upload at <inbox>/<key> (folders are created). The
  // folders are walked one at a time and never through a symbolic link
  // (os/beneath.hpp): a key whose folder is a link is kInvalidInput, and
  // nothing is written or created outside the inbox. An existing report of
  // that name is never replaced: kBusy (the report before it has not been
  // picked up yet); a link, folder or special file of that name is
  // kInvalidInput, since it never goes away by itself.
  [[nodiscard]] Status commit(UploadSink&& sink, std::string_view key);

  // --- Multipart ------------------------------------------------------------
  [[nodiscard]] Result<std::string> create_multipart(std::string_view key, std::string_view owner);
  // kNotFound for an unknown (or completed, or aborted) upload id.
  [[nodiscard]] Result<MultipartUpload> find_multipart(std::string_view upload_id) const;
  // The calls below refuse an upload whose id was not made by
  // create_multipart() ("", "..": kNotFound) and a part number outside
  // 1..10000 (kInvalidInput), so they never touch another folder.
  [[nodiscard]] Result<UploadSink> begin_part(const MultipartUpload& upload, int part_number,
                                              ChecksumKind extra = ChecksumKind::kNone);
  // Keeps a finished part under its number (replacing an earlier upload of
  // the same number); returns its ETag (hex MD5).
  [[nodiscard]] Result<std::string> commit_part(UploadSink&& sink, const MultipartUpload& upload,
                                                int part_number, const BodyDigests& digests);
  // Joins the listed parts, in order, into one staging file and returns it
  // (not yet placed: check it, then commit()). Fails with kInvalidInput and
  // an S3 error in `error` for a missing part, a wrong ETag or a wrong order.
  struct Assembled {
    std::optional<UploadSink> sink;
    std::string etag;           // "<hex md5 of the part md5s>-<parts>"
    std::optional<S3Error> error;
  };
  [[nodiscard]] Result<Assembled> assemble(const MultipartUpload& upload,
                                           const std::vector<CompletedPart>& parts);
  // Removes the upload and its parts.
  [[nodiscard]] Status remove_multipart(const MultipartUpload& upload);
  // Removes multipart uploads not touched for `max_age`; returns how many.
  std::size_t sweep(Duration max_age);

  [[nodiscard]] const std::filesystem::path& staging() const { return staging_; }

 private:
  std::filesystem::path inbox_;
  std::filesystem::path staging_;
  const Clock& clock_;
  std::uint64_t counter_ = 0;
  [[nodiscard]] std::string fresh_name();
};

}  // namespace stockwatch

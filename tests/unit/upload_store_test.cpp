// Where S3 uploads are written: single PUTs, multipart uploads, leftovers
// and the sweep, on real files in a scratch inbox.
#include "http/s3/upload_store.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/clock.hpp"
#include "crypto/digest.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::files_under;
using test::read_file;
using test::TempDir;
using test::write_file;
namespace fs = std::filesystem;

std::string md5_hex(std::string_view data) { return to_hex(Digest::of(Digest::Kind::kMd5, data)); }

class UploadStoreTest : public ::testing::Test {
 protected:
  TempDir dir_{"upload"};
  fs::path inbox_ = dir_.path();
  ManualClock clock_;
  UploadStore store_{inbox_, clock_};

  // A sink holding `content`, written in pieces of `piece` bytes.
  static UploadSink filled(Result<UploadSink> sink, std::string_view content,
                           std::size_t piece = 4096) {
    EXPECT_TRUE(sink.ok()) << sink.error().message();
    for (std::size_t i = 0; i < content.size(); i += piece) {
      EXPECT_TRUE(sink->write(content.substr(i, piece)).ok());
    }
    return std::move(*sink);
  }
  BodyDigests finished(UploadSink& sink) {
    auto d = sink.finish();
    EXPECT_TRUE(d.ok()) << d.error().message();
    return d.ok() ? *d : BodyDigests{};
  }
  // Puts `content` at `key`; the status of commit().
  Status put(std::string_view key, std::string_view content) {
    UploadSink sink = filled(store_.begin_put(), content);
    finished(sink);
    return store_.commit(std::move(sink), key);
  }
  // Every file in the inbox except the staging folder.
  std::vector<std::string> inbox_files() const {
    auto files = files_under(inbox_);
    std::erase_if(files, [](const std::string& f) { return f.rfind(".uploads/", 0) == 0; });
    return files;
  }
  std::vector<std::string> staging_files() const { return files_under(store_.staging()); }

  MultipartUpload multipart(std::string_view key = "medan/big.csv") {
    auto id = store_.create_multipart(key, "AKID");
    EXPECT_TRUE(id.ok());
    auto upload = store_.find_multipart(*id);
    EXPECT_TRUE(upload.ok());
    return *upload;
  }
  // Uploads one part; its ETag.
  std::string part(const MultipartUpload& upload, int number, std::string_view content) {
    UploadSink sink = filled(store_.begin_part(upload, number), content);
    const BodyDigests digests = finished(sink);
    auto etag = store_.commit_part(std::move(sink), upload, number, digests);
    EXPECT_TRUE(etag.ok()) << etag.error().message();
    return etag.ok() ? *etag : std::string();
  }
  // Completes `upload` from `parts` and places it at `key`; the file's content.
  std::string complete(const MultipartUpload& upload, const std::vector<CompletedPart>& parts,
                       std::string_view key) {
    auto assembled = store_.assemble(upload, parts);
    if (!assembled.ok() || assembled->error || !assembled->sink) {
      ADD_FAILURE() << "not assembled";
      return {};
    }
    finished(*assembled->sink);
    const Status st = store_.commit(std::move(*assembled->sink), key);
    EXPECT_TRUE(st.ok()) << st.message();
    return read_file(inbox_ / std::string(key));
  }
  std::optional<S3Error> assemble_error(const MultipartUpload& upload,
                                        const std::vector<CompletedPart>& parts) {
    auto assembled = store_.assemble(upload, parts);
    EXPECT_TRUE(assembled.ok());
    if (assembled->error) {
      EXPECT_FALSE(assembled->sink.has_value());
    }
    return assembled->error;
  }
};

TEST_F(UploadStoreTest, StagingFolderIsHiddenInsideTheInbox) {
  EXPECT_EQ(store_.staging(), inbox_ / ".uploads");
  EXPECT_TRUE(fs::is_directory(store_.staging()));
}

TEST_F(UploadStoreTest, PutIsHashedAndPlacedUnderItsKey) {
  const std::string content = "store,sku,count\nmedan,A1,3\nmedan,B2,0\n";
  UploadSink sink = filled(store_.begin_put(), content, 7);
  EXPECT_EQ(sink.size(), content.size());
  EXPECT_EQ(sink.path().parent_path(), store_.staging());
  EXPECT_EQ(inbox_files(), std::vector<std::string>{});   // nothing visible yet
  const BodyDigests d = finished(sink);
  EXPECT_EQ(d.size, content.size());
  EXPECT_EQ(d.md5, Digest::of(Digest::Kind::kMd5, content));
  EXPECT_EQ(d.sha256, Digest::of(Digest::Kind::kSha256, content));
  EXPECT_TRUE(d.extra.empty());
  ASSERT_TRUE(store_.commit(std::move(sink), "medan/2026/11.csv").ok());
  EXPECT_EQ(inbox_files(), std::vector<std::string>{"medan/2026/11.csv"});
  EXPECT_EQ(read_file(inbox_ / "medan/2026/11.csv"), content);
  EXPECT_EQ(staging_files(), std::vector<std::string>{});
}

TEST_F(UploadStoreTest, ExtraChecksums) {
  const std::string content = "123456789";
  const std::pair<ChecksumKind, std::string> cases[] = {
      {ChecksumKind::kNone, ""},
      {ChecksumKind::kCrc32, std::string("\xCB\xF4\x39\x26", 4)},
      {ChecksumKind::kCrc32c, std::string("\xE3\x06\x92\x83", 4)},
      {ChecksumKind::kSha1, Digest::of(Digest::Kind::kSha1, content)},
      {ChecksumKind::kSha256, Digest::of(Digest::Kind::kSha256, content)},
  };
  for (const auto& [kind, expected] : cases) {
    UploadSink sink = filled(store_.begin_put(kind), content, 2);
    EXPECT_EQ(finished(sink).extra, expected) << static_cast<int>(kind);
  }
}

TEST_F(UploadStoreTest, EmptyBody) {
  ASSERT_TRUE(put("empty.csv", "").ok());
  EXPECT_EQ(read_file(inbox_ / "empty.csv"), "");
}

TEST_F(UploadStoreTest, NeverReplacesAWaitingReport) {
  write_file(inbox_ / "medan/11.csv", "the first one\n");
  const Status st = put("medan/11.csv", "the second one\n");
  EXPECT_EQ(st.code(), ErrorCode::kBusy);
  EXPECT_NE(st.message().find("medan/11.csv"), std::string::npos);
  EXPECT_EQ(read_file(inbox_ / "medan/11.csv"), "the first one\n");
  EXPECT_EQ(staging_files(), std::vector<std::string>{});
}

// A folder of the key that is a symbolic link (to a folder outside, or even
// inside the inbox) is refused; nothing is written or created outside, and
// asking again gets the same answer, not "busy" forever.
TEST_F(UploadStoreTest, NeverWritesThroughASymlinkedFolder) {
  TempDir outside{"upload-outside"};
  fs::create_symlink(outside.path(), inbox_ / "evil");
  fs::create_directories(inbox_ / "real");
  fs::create_symlink(inbox_ / "real", inbox_ / "alias");
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const std::string key : {"evil/pwn.csv", "evil/newdir/deeper/p2.csv", "alias/x.csv"}) {
      const Status st = put(key, "store,item,count\n");
      ASSERT_FALSE(st.ok()) << key;
      EXPECT_EQ(st.code(), ErrorCode::kInvalidInput) << key << ": " << st.message();
      EXPECT_NE(st.message().find("symbolic link"), std::string::npos) << st.message();
      EXPECT_EQ(st.message().find(inbox_.string()), std::string::npos) << st.message();
    }
  }
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_TRUE(fs::is_empty(inbox_ / "real"));
  EXPECT_TRUE(staging_files().empty());
  // A report's own name taken by a link or a folder is not "busy" either.
  fs::create_symlink(outside.path() / "target.csv", inbox_ / "link.csv");
  fs::create_directories(inbox_ / "folder.csv");
  for (const std::string key : {"link.csv", "folder.csv"}) {
    const Status st = put(key, "store,item,count\n");
    ASSERT_FALSE(st.ok()) << key;
    EXPECT_EQ(st.code(), ErrorCode::kInvalidInput) << key << ": " << st.message();
  }
  EXPECT_TRUE(fs::is_empty(outside.path()));
}

TEST_F(UploadStoreTest, SinkDroppedWithoutCommitLeavesNothing) {
  fs::path staged;
  {
    UploadSink sink = filled(store_.begin_put(), "half a report");
    staged = sink.path();
    EXPECT_TRUE(fs::exists(staged));
  }
  EXPECT_FALSE(fs::exists(staged));
  {
    UploadSink sink = filled(store_.begin_put(), "finished but not placed");
    finished(sink);
  }
  EXPECT_EQ(files_under(inbox_), std::vector<std::string>{});
}

TEST_F(UploadStoreTest, MovingSinksKeepsOneOwner) {
  UploadSink a = filled(store_.begin_put(), "aaa");
  UploadSink b = filled(store_.begin_put(), "bbb");
  const fs::path a_path = a.path();
  const fs::path b_path = b.path();
  a = std::move(b);   // a's first file is discarded; b's moves over
  EXPECT_FALSE(fs::exists(a_path));
  EXPECT_EQ(a.path(), b_path);
  UploadSink c(std::move(a));
  EXPECT_TRUE(c.write("!").ok());
  finished(c);
  ASSERT_TRUE(store_.commit(std::move(c), "moved.csv").ok());
  EXPECT_EQ(read_file(inbox_ / "moved.csv"), "bbb!");
  EXPECT_EQ(staging_files(), std::vector<std::string>{});
}

TEST_F(UploadStoreTest, WriteOrFinishAfterFinishFails) {
  UploadSink sink = filled(store_.begin_put(), "abc");
  finished(sink);
  EXPECT_FALSE(sink.write("more").ok());
  EXPECT_FALSE(sink.finish().ok());
}

TEST_F(UploadStoreTest, StartUpRemovesLeftovers) {
  const MultipartUpload upload = multipart();
  const std::string etag = part(upload, 1, "kept part");
  write_file(store_.staging() / "put-0123456789abcdef.part", "cut off");
  write_file(store_.staging() / upload.id / "part-00002.tmp-0123456789abcdef", "cut off part");
  UploadStore restarted(inbox_, clock_);
  EXPECT_EQ(staging_files(), (std::vector<std::string>{upload.id + "/part-00001." + etag,
                                                       upload.id + "/upload"}));
  EXPECT_TRUE(restarted.find_multipart(upload.id).ok());
}

TEST_F(UploadStoreTest, MultipartCreateAndFind) {
  auto id = store_.create_multipart("medan/big.csv", "AKID");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 32u);
  auto upload = store_.find_multipart(*id);
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(upload->id, *id);
  EXPECT_EQ(upload->key, "medan/big.csv");
  EXPECT_EQ(upload->owner, "AKID");
  auto anonymous = store_.create_multipart("x.csv", "");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_NE(*anonymous, *id);
  EXPECT_EQ(store_.find_multipart(*anonymous)->owner, "");
}

TEST_F(UploadStoreTest, UnknownOrMalformedUploadIds) {
  const MultipartUpload upload = multipart();
  std::string upper = upload.id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {std::string(""), std::string("../x"), std::string(".."),
                                 std::string("../../etc"), std::string(32, '0'), upper,
                                 upload.id + "/", upload.id.substr(1), "/" + upload.id}) {
    const auto found = store_.find_multipart(bad);
    ASSERT_FALSE(found.ok()) << bad;
    EXPECT_EQ(found.error().code(), ErrorCode::kNotFound) << bad;
  }
}

TEST_F(UploadStoreTest, MultipartAssemblesPartsInOrder) {
  const MultipartUpload upload = multipart();
  const std::string one(100'000, '1');
  const std::string two = "second part\n";
  const std::string three(300'000, '3');
  const std::string e1 = part(upload, 1, one);
  const std::string e3 = part(upload, 3, three);
  const std::string e2 = part(upload, 2, two);
  EXPECT_EQ(e1, md5_hex(one));
  EXPECT_EQ(e2, md5_hex(two));
  EXPECT_EQ(e3, md5_hex(three));

  auto assembled = store_.assemble(upload, {{1, e1}, {2, e2}, {3, e3}});
  ASSERT_TRUE(assembled.ok()) << assembled.error().message();
  ASSERT_FALSE(assembled->error.has_value()) << assembled->error->message;
  ASSERT_TRUE(assembled->sink.has_value());
  const std::string md5s = Digest::of(Digest::Kind::kMd5, one) +
                           Digest::of(Digest::Kind::kMd5, two) +
                           Digest::of(Digest::Kind::kMd5, three);
  EXPECT_EQ(assembled->etag, md5_hex(md5s) + "-3");
  const BodyDigests d = finished(*assembled->sink);
  EXPECT_EQ(d.size, one.size() + two.size() + three.size());
  EXPECT_EQ(d.md5, Digest::of(Digest::Kind::kMd5, one + two + three));
  ASSERT_TRUE(store_.commit(std::move(*assembled->sink), upload.key).ok());
  EXPECT_EQ(read_file(inbox_ / upload.key), one + two + three);
  ASSERT_TRUE(store_.remove_multipart(upload).ok());
  EXPECT_EQ(store_.find_multipart(upload.id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(staging_files(), std::vector<std::string>{});
}

TEST_F(UploadStoreTest, SubsetOfPartsWithGaps) {
  const MultipartUpload upload = multipart();
  const std::string e2 = part(upload, 2, "two");
  part(upload, 5, "five");
  const std::string e9 = part(upload, 9, "nine");
  EXPECT_EQ(complete(upload, {{2, e2}, {9, e9}}, "gaps.csv"), "twonine");
}

TEST_F(UploadStoreTest, ReuploadedPartReplacesTheEarlierOne) {
  const MultipartUpload upload = multipart();
  const std::string old_etag = part(upload, 1, "first try");
  const std::string new_etag = part(upload, 1, "second try");
  EXPECT_NE(old_etag, new_etag);
  EXPECT_EQ(staging_files(), (std::vector<std::string>{upload.id + "/part-00001." + new_etag,
                                                       upload.id + "/upload"}));
  EXPECT_EQ(assemble_error(upload, {{1, old_etag}})->code, "InvalidPart");
  // The same content again: the same name, still one file.
  EXPECT_EQ(part(upload, 1, "second try"), new_etag);
  EXPECT_EQ(staging_files().size(), 2u);
  EXPECT_EQ(complete(upload, {{1, new_etag}}, upload.key), "second try");
}

TEST_F(UploadStoreTest, PartNumbersDoNotShadowEachOther) {
  const MultipartUpload upload = multipart();
  const std::string e1 = part(upload, 1, "one");
  const std::string e10 = part(upload, 10, "ten");
  const std::string e10000 = part(upload, 10000, "last");
  const std::string e1b = part(upload, 1, "uno");
  EXPECT_EQ(complete(upload, {{1, e1b}, {10, e10}, {10000, e10000}}, upload.key), "unotenlast");
  EXPECT_NE(e1, e1b);
}

TEST_F(UploadStoreTest, AssembleRefusesBadPartLists) {
  const MultipartUpload upload = multipart();
  const std::string e1 = part(upload, 1, "one");
  const std::string e2 = part(upload, 2, "two");
  EXPECT_EQ(assemble_error(upload, {{2, e2}, {1, e1}})->code, "InvalidPartOrder");
  EXPECT_EQ(assemble_error(upload, {{1, e1}, {1, e1}})->code, "InvalidPartOrder");
  EXPECT_EQ(assemble_error(upload, {{1, e1}, {3, e2}})->code, "InvalidPart");
  EXPECT_EQ(assemble_error(upload, {{1, e1}, {2, e1}})->code, "InvalidPart");
  EXPECT_EQ(assemble_error(upload, {{1, ""}})->code, "InvalidPart");
  EXPECT_TRUE(assemble_error(upload, {{0, e1}}).has_value());
  const auto err = assemble_error(upload, {{1, e1}, {7, e2}});
  EXPECT_EQ(err->status, 400);
  EXPECT_NE(err->message.find("part 7"), std::string::npos);
  // Nothing was placed or left in the staging folder.
  EXPECT_EQ(inbox_files(), std::vector<std::string>{});
  EXPECT_EQ(staging_files().size(), 3u);
}

TEST_F(UploadStoreTest, PartNumbersOutsideTheRangeAreRefused) {
  const MultipartUpload upload = multipart();
  for (int number : {0, -1, 10001}) {
    auto sink = store_.begin_part(upload, number);
    ASSERT_FALSE(sink.ok()) << number;
    EXPECT_EQ(sink.error().code(), ErrorCode::kInvalidInput);
  }
  EXPECT_EQ(staging_files(), std::vector<std::string>{upload.id + "/upload"});
}

TEST_F(UploadStoreTest, PartInProgressIsNotAssembled) {
  const MultipartUpload upload = multipart();
  UploadSink unfinished = filled(store_.begin_part(upload, 1), "in flight");
  EXPECT_EQ(assemble_error(upload, {{1, md5_hex("in flight")}})->code, "InvalidPart");
}

TEST_F(UploadStoreTest, RemoveMultipartDropsItsParts) {
  const MultipartUpload upload = multipart();
  const MultipartUpload other = multipart("other.csv");
  part(upload, 1, "one");
  ASSERT_TRUE(store_.remove_multipart(upload).ok());
  EXPECT_FALSE(fs::exists(store_.staging() / upload.id));
  EXPECT_TRUE(store_.find_multipart(other.id).ok());
}

TEST_F(UploadStoreTest, ForgedUploadIdsTouchNothing) {
  const MultipartUpload real = multipart();
  write_file(inbox_ / "waiting.csv", "keep me\n");
  for (const std::string& id : {std::string(""), std::string(".."), std::string("../..")}) {
    const MultipartUpload forged{id, "x.csv", ""};
    EXPECT_FALSE(store_.remove_multipart(forged).ok()) << id;
    EXPECT_EQ(store_.begin_part(forged, 1).error().code(), ErrorCode::kNotFound) << id;
    auto assembled = store_.assemble(forged, {{1, md5_hex("x")}});
    EXPECT_TRUE(!assembled.ok() || assembled->error.has_value()) << id;
  }
  EXPECT_TRUE(store_.find_multipart(real.id).ok());
  EXPECT_EQ(read_file(inbox_ / "waiting.csv"), "keep me\n");
}

TEST_F(UploadStoreTest, SweepRemovesUploadsByAge) {
  const MultipartUpload old_upload = multipart("old.csv");
  const MultipartUpload fresh_upload = multipart("fresh.csv");
  part(old_upload, 1, "old part");
  fs::create_directory(store_.staging() / "not-an-upload");
  const auto to_file_time = [](TimePoint t) {
    return fs::file_time_type::clock::from_sys(
        std::chrono::time_point_cast<fs::file_time_type::duration>(t));
  };
  fs::last_write_time(store_.staging() / old_upload.id, to_file_time(clock_.now() - 2h));
  fs::last_write_time(store_.staging() / fresh_upload.id, to_file_time(clock_.now() - 30min));
  fs::last_write_time(store_.staging() / "not-an-upload", to_file_time(clock_.now() - 48h));

  EXPECT_EQ(store_.sweep(1h), 1u);
  EXPECT_EQ(store_.find_multipart(old_upload.id).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_.find_multipart(fresh_upload.id).ok());
  EXPECT_TRUE(fs::exists(store_.staging() / "not-an-upload"));

  EXPECT_EQ(store_.sweep(1h), 0u);
  clock_.advance(31min);
  EXPECT_EQ(store_.sweep(1h), 1u);
  EXPECT_EQ(store_.find_multipart(fresh_upload.id).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace stockwatch

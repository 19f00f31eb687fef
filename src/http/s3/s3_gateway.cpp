#include "http/s3/s3_gateway.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "crypto/digest.hpp"
#include "os/file_ops.hpp"
#include "daemon/metrics.hpp"
#include "report/report_format.hpp"
#include "report/report_parser.hpp"
#include "report/store_check.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

namespace bhttp = boost::beast::http;

http::Response s3_error_response(const S3Error& error, std::string_view resource,
                                 std::string_view request_id) {
  auto res = http::make_response(static_cast<unsigned>(error.status),
                                 s3_error_xml(error, resource, request_id), "application/xml");
  res.set("x-amz-request-id", request_id);
  return res;
}

namespace {

std::string new_request_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(rng()));
  return buf;
}


// A failure on the server's side. Its details (paths on the server, the
// system's reason) go to the log only; the client learns what it can do.
S3Error internal(const std::string& what) {
  spdlog::error("http: s3 request failed: {}", what);
  return {500, "InternalError", "We encountered an internal error. Please try again."};
}

// A failure of a step that touched the disk: a client's mistake stays a 4xx,
// a full disk is a 503 (try later), anything else a 500.
S3Error server_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kInvalidInput:
      return {400, "InvalidArgument", e.message()};
    case ErrorCode::kTransient:
      spdlog::error("http: s3 request failed: {}", e.message());
      return {503, "ServiceUnavailable",
              "The server has no room to store the upload just now. Please try again later."};
    default:
      return internal(e.message());
  }
}

// What the client declared about the body, to check once it has arrived.
struct Expected {
  std::string md5;              // raw, from Content-MD5
  std::string sha256;           // raw, from a hex x-amz-content-sha256
  ChecksumKind checksum = ChecksumKind::kNone;
  std::string checksum_header;  // "x-amz-checksum-crc32"
  std::string checksum_value;   // raw
};

std::optional<S3Error> compare(const Expected& want, const BodyDigests& got) {
  if (!want.md5.empty() && want.md5 != got.md5) {
    return S3Error{400, "BadDigest", "The Content-MD5 you specified did not match what we received."};
  }
  if (!want.sha256.empty() && want.sha256 != got.sha256) {
    return S3Error{400, "XAmzContentSHA256Mismatch",
                   "The provided 'x-amz-content-sha256' header does not match what was computed."};
  }
  if (want.checksum != ChecksumKind::kNone && want.checksum_value != got.extra) {
    return S3Error{400, "BadDigest",
                   "The " + want.checksum_header +
                       " you specified did not match the calculated checksum."};
  }
  return std::nullopt;
}

// The first row of `file` (uploaded as `key`) whose store is not in
// `allowed`. A workbook is read as the loader will read it (the same sheet).
std::optional<S3Error> check_stores(const std::filesystem::path& file, const std::string& key,
                                    const std::vector<std::string>& allowed,
                                    const ReportConfig& report, const std::string& access_key) {
  if (allowed.empty()) return std::nullopt;
  const std::set<std::string, std::less<>> ok(allowed.begin(), allowed.end());
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return internal("cannot read the upload back");
  auto found = first_foreign_row(fd.get(), key, report,
                                 [&](std::string_view store) { return ok.count(store) > 0; });
  if (!found) return server_error(found.error());
  if (!*found) return std::nullopt;
  const ForeignRow& foreign = **found;
  std::string list;
  for (const auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
  const std::string where = foreign.in_workbook ? "row " : "line ";
  return S3Error{403, "AccessDenied",
                 "access key " + access_key + " may upload reports for " + list + " only, and " +
                     where + std::to_string(foreign.line) + " of this report is for store '" +
                     foreign.store + "'"};
}

}  // namespace

// Receives one object body (a PutObject or an UploadPart).
class ObjectSink final : public http::BodySink {
 public:
  struct Context {
    S3Gateway* gateway;
    std::string key;
    std::string resource;
    std::string request_id;
    std::string remote;
    std::string access_key;
    std::vector<std::string> stores;   // the credential's limit, for a PutObject
    std::optional<MultipartUpload> upload;
    int part_number = 0;
    Expected expected;
  };

  ObjectSink(Context ctx, UploadSink sink) : ctx_(std::move(ctx)), sink_(std::move(sink)) {}

  std::optional<http::Response> on_data(std::string_view data) override {
    if (auto st = sink_->write(data); !st.ok()) {
      spdlog::error("http {}: upload of {} failed", ctx_.remote, ctx_.key);
      return error(server_error(st.error()));
    }
    return std::nullopt;
  }

  http::Response finish() override {
    auto digests = sink_->finish();
    if (!digests) {
      spdlog::error("http {}: upload of {} failed", ctx_.remote, ctx_.key);
      return error(server_error(digests.error()));
    }
    if (auto e = compare(ctx_.expected, *digests)) return error(*e);
    auto& gw = *ctx_.gateway;
    if (ctx_.upload) {
      auto etag = gw.store_.commit_part(std::move(*sink_), *ctx_.upload, ctx_.part_number, *digests);
      sink_.reset();
      if (!etag) return error(server_error(etag.error()));
      spdlog::debug("http {}: part {} of {} ({} bytes) stored", ctx_.remote, ctx_.part_number,
                    ctx_.key, digests->size);
      return ok(*etag, *digests);
    }
    auto refused = gw.place(std::move(*sink_), ctx_.key, ctx_.stores, ctx_.access_key,
                            ctx_.remote, ctx_.access_key.empty() ? "" : ", key " + ctx_.access_key);
    sink_.reset();
    if (refused) return error(*refused);
    return ok(to_hex(digests->md5), *digests);
  }

  void abort() override { sink_.reset(); }

 private:
  http::Response error(const S3Error& e) {
    sink_.reset();
    return s3_error_response(e, ctx_.resource, ctx_.request_id);
  }

  http::Response ok(const std::string& etag, const BodyDigests& digests) {
    auto res = http::make_response(200, "", "application/xml");
    res.set(bhttp::field::etag, "\"" + etag + "\"");
    res.set("x-amz-request-id", ctx_.request_id);
    if (!ctx_.expected.checksum_header.empty()) {
      res.set(ctx_.expected.checksum_header, to_base64(digests.extra));
    }
    return res;
  }

  Context ctx_;
  std::optional<UploadSink> sink_;
};

std::optional<S3Error> S3Gateway::place(UploadSink&& sink, const std::string& key,
                                        const std::vector<std::string>& stores,
                                        const std::string& access_key, const std::string& remote,
                                        const std::string& detail, std::string_view by) {
  UploadSink owned = std::move(sink);
  if (auto e = check_stores(owned.path(), key, stores, options_.report, access_key)) {
    spdlog::warn("http {}: upload of {} refused: {}", remote, key, e->message);
    return e;
  }
  const auto size = owned.size();
  if (arriving_) arriving_(key, by);
  auto st = store_.commit(std::move(owned), key);
  if (!st.ok()) {
    if (arriving_) arriving_(key, {});
    if (st.code() == ErrorCode::kBusy) {
      return S3Error{503, "SlowDown", st.message() + "; try again in a few seconds"};
    }
    if (st.code() == ErrorCode::kInvalidInput) {
      spdlog::warn("http {}: upload of {} refused: {}", remote, key, st.message());
    } else {
      spdlog::error("http {}: upload of {} failed", remote, key);
    }
    return server_error(st.error());
  }
  if (metrics_) metrics_->http_upload_bytes(size);
  spdlog::info("http {}: received {} ({} bytes{}); placed in the inbox", remote, key, size, detail);
  if (placed_) placed_(key);
  return std::nullopt;
}

std::optional<std::string> S3Gateway::place_bytes(const std::string& key, std::string_view data,
                                                  const std::string& who, const std::string& remote) {
  if (auto bad = check_object_key(key, {})) return bad->message;
  auto sink = store_.begin_put();
  if (!sink) return sink.error().message();
  if (auto st = sink->write(data); !st.ok()) return st.message();
  if (auto digests = sink->finish(); !digests) return digests.error().message();
  if (auto e = place(std::move(*sink), key, {}, who, remote, ", from the web console",
                     Arrivals::kBrowser)) {
    return e->message;
  }
  return std::nullopt;
}

S3Gateway::S3Gateway(S3GatewayOptions options, UploadStore& store, const Clock& clock,
                     Metrics* metrics)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      metrics_(metrics),
      signatures_(options_.http, clock) {}

void S3Gateway::set_options(S3GatewayOptions options) {
  options_ = std::move(options);
  signatures_.set_config(options_.http);
}

http::Route S3Gateway::route(const http::RequestHead& head, const std::string& remote) {
  http::Route route;
  const std::string request_id = new_request_id();
  const std::string target(head.target());
  const auto qpos = target.find('?');
  const std::string raw_path = target.substr(0, qpos);
  const std::string raw_query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
  const auto decoded = percent_decode(raw_path);
  const std::string resource = decoded.value_or(raw_path);

  const auto refuse = [&](const S3Error& e, const char* label) {
    route.label = label;
    route.response = s3_error_response(e, resource, request_id);
    return std::move(route);
  };

  if (!decoded || decoded->empty() || decoded->front() != '/') {
    return refuse({400, "InvalidURI", "Couldn't parse the specified URI."}, "s3_invalid");
  }
  const std::string path = decoded->substr(1);
  const auto slash = path.find('/');
  const std::string bucket = path.substr(0, slash);
  const std::string key = slash == std::string::npos ? "" : path.substr(slash + 1);
  if (bucket.empty()) {
    return refuse({501, "NotImplemented",
                   "listing buckets is not supported; upload reports to s3://" + options_.bucket + "/"},
                  "s3_other");
  }
  if (bucket != options_.bucket) {
    return refuse({404, "NoSuchBucket",
                   "The specified bucket does not exist: reports go to s3://" + options_.bucket +
                       "/ (inbox.bucket)"},
                  "s3_other");
  }

  // Query parameters (subresources).
  std::map<std::string, std::string> query;
  for (auto& [name, value] : decode_query(raw_query)) query[name] = std::move(value);

  // Authentication.
  std::string access_key;
  std::string payload_hash = "UNSIGNED-PAYLOAD";
  std::vector<std::string> stores;
  auto auth = signatures_.authenticate(head, remote);
  if (auth.refusal) {
    return refuse({static_cast<int>(auth.refusal->status), auth.refusal->code, auth.refusal->message},
                  "s3_denied");
  }
  if (auth.identity) {
    access_key = auth.identity->name;
    payload_hash = auth.identity->payload_hash;
    stores = auth.identity->stores;
  }
  if (payload_hash.rfind("STREAMING-", 0) == 0) {
    return refuse({501, "NotImplemented",
                   "aws-chunked uploads (x-amz-content-sha256: " + payload_hash +
                       ") are not supported; send the body as it is (the aws CLI does so over "
                       "http://)"},
                  "s3_other");
  }

  const std::string method(head.method_string());
  const bool has_upload_id = query.count("uploadId") > 0;

  // Multipart calls that need no body of an object.
  if (method == "DELETE" && has_upload_id) {
    route.label = "s3_abort_multipart";
    auto upload = store_.find_multipart(query["uploadId"]);
    if (!upload) {
      return refuse({404, "NoSuchUpload", "The specified multipart upload does not exist."},
                    "s3_abort_multipart");
    }
    if (auto st = store_.remove_multipart(*upload); !st.ok()) {
      return refuse(server_error(st.error()), "s3_abort_multipart");
    }
    spdlog::info("http {}: multipart upload of {} aborted", remote, upload->key);
    route.response = http::make_response(204, "", "application/xml");
    route.response->erase(bhttp::field::content_type);   // no body, so no type either
    return route;
  }
  if (method == "HEAD" && key.empty()) {
    route.label = "s3_head_bucket";
    route.response = http::make_response(200, "", "application/xml");
    return route;
  }
  if ((method != "PUT" && method != "POST") || key.empty()) {
    return refuse({501, "NotImplemented",
                   "this server accepts report uploads only (PutObject and multipart uploads to s3://" +
                       options_.bucket + "/<name>.csv, .xlsx or .ods)"},
                  "s3_other");
  }
  for (const char* unsupported : {"acl", "tagging", "retention", "legal-hold", "torrent"}) {
    if (query.count(unsupported)) {
      return refuse({501, "NotImplemented", std::string("?") + unsupported + " is not supported"},
                    "s3_other");
    }
  }
  if (auto e = check_object_key(key)) return refuse(*e, "s3_invalid_key");

  // The body's declared digests.
  Expected expected;
  // A hex SHA-256 (not UNSIGNED-PAYLOAD) is checked against the body.
  if (payload_hash.size() == 64) expected.sha256 = from_hex(payload_hash).value_or("");
  if (const auto md5 = head[bhttp::field::content_md5]; !md5.empty()) {
    expected.md5 = from_base64(std::string(md5));
    if (expected.md5.size() != 16) {
      return refuse({400, "InvalidDigest", "The Content-MD5 you specified is not valid."}, "s3_invalid");
    }
  }
  static const std::pair<const char*, ChecksumKind> kChecksums[] = {
      {"x-amz-checksum-crc32", ChecksumKind::kCrc32},
      {"x-amz-checksum-crc32c", ChecksumKind::kCrc32c},
      {"x-amz-checksum-sha1", ChecksumKind::kSha1},
      {"x-amz-checksum-sha256", ChecksumKind::kSha256}};
  for (const auto& [name, kind] : kChecksums) {
    const auto v = head[name];
    if (v.empty()) continue;
    expected.checksum = kind;
    expected.checksum_header = name;
    expected.checksum_value = from_base64(std::string(v));
    if (expected.checksum_value.empty()) {
      return refuse({400, "InvalidRequest", std::string("Value for ") + name + " header is invalid."},
                    "s3_invalid");
    }
  }

  const std::uint64_t max = options_.http.max_upload_bytes;
  ObjectSink::Context ctx{this, key, resource, request_id, remote, access_key, stores, {}, 0, expected};

  if (method == "POST" && query.count("uploads")) {
    route.label = "s3_create_multipart";
    auto id = store_.create_multipart(key, access_key);
    if (!id) return refuse(server_error(id.error()), "s3_create_multipart");
    spdlog::info("http {}: multipart upload of {} started ({})", remote, key, *id);
    route.response = http::make_response(200, initiate_multipart_xml(bucket, key, *id), "application/xml");
    return route;
  }

  if (has_upload_id) {
    auto upload = store_.find_multipart(query["uploadId"]);
    if (!upload || upload->key != key) {
      return refuse({404, "NoSuchUpload", "The specified multipart upload does not exist."},
                    method == "PUT" ? "s3_upload_part" : "s3_complete_multipart");
    }
    if (upload->owner != access_key) {
      return refuse({403, "AccessDenied", "this multipart upload was started with another access key"},
                    "s3_denied");
    }
    if (method == "PUT") {
      const std::string& pn = query["partNumber"];
      int number = 0;
      if (pn.empty() || pn.size() > 5 ||
          !std::all_of(pn.begin(), pn.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          (number = std::stoi(pn)) < 1 || number > 10000) {
        return refuse({400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"},
                      "s3_upload_part");
      }
      auto sink = store_.begin_part(*upload, number, expected.checksum);
      if (!sink) return refuse(server_error(sink.error()), "s3_upload_part");
      ctx.upload = *upload;
      ctx.part_number = number;
      route.label = "s3_upload_part";
      route.sink = std::make_unique<ObjectSink>(std::move(ctx), std::move(*sink));
      route.body_limit = max;
      return route;
    }
    // CompleteMultipartUpload: a small XML body.
    route.label = "s3_complete_multipart";
    route.body_limit = 1024 * 1024;
    route.buffered = [this, ctx, upload = *upload, bucket](std::string body) -> http::Response {
      const auto fail = [&ctx](const S3Error& e) {
        return s3_error_response(e, ctx.resource, ctx.request_id);
      };
      if (!ctx.expected.sha256.empty() &&
          Digest::of(Digest::Kind::kSha256, body) != ctx.expected.sha256) {
        return fail({400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was computed."});
      }
      const auto parts = parse_complete_multipart(body);
      if (!parts) {
        return fail({400, "MalformedXML",
                     "The XML you provided was not well-formed or did not validate against our "
                     "published schema."});
      }
      auto assembled = store_.assemble(upload, *parts);
      if (!assembled) return fail(server_error(assembled.error()));
      if (assembled->error) return fail(*assembled->error);
      UploadSink& sink = *assembled->sink;
      if (auto d = sink.finish(); !d) return fail(server_error(d.error()));
      const auto size = sink.size();
      if (size > options_.http.max_upload_bytes) {
        return fail({400, "EntityTooLarge",
                     "Your proposed upload exceeds the maximum allowed size (http.max_upload_bytes)"});
      }
      if (auto refused = place(std::move(sink), ctx.key, ctx.stores, ctx.access_key, ctx.remote,
                               " in " + std::to_string(parts->size()) + " parts")) {
        return fail(*refused);
      }
      (void)store_.remove_multipart(upload);
      auto res = http::make_response(
          200, complete_multipart_xml("/" + bucket + "/" + ctx.key, bucket, ctx.key, assembled->etag),
          "application/xml");
      res.set("x-amz-request-id", ctx.request_id);
      return res;
    };
    return route;
  }

  if (method != "PUT") {
    return refuse({501, "NotImplemented", "POST uploads (HTML forms) are not supported; use PUT"},
                  "s3_other");
  }
  if (head.count("x-amz-copy-source") > 0) {
    return refuse({501, "NotImplemented", "copying objects is not supported"}, "s3_other");
  }
  const auto length_text = head[bhttp::field::content_length];
  if (length_text.empty() && head[bhttp::field::transfer_encoding].empty()) {
    return refuse({411, "MissingContentLength", "You must provide the Content-Length HTTP header."},
                  "s3_put");
  }
  if (!length_text.empty()) {
    std::uint64_t length = 0;
    try {
      length = std::stoull(std::string(length_text));
    } catch (...) {
      return refuse({400, "InvalidArgument", "Content-Length is not a number"}, "s3_put");
    }
    if (length > max) {
      return refuse({413, "EntityTooLarge",
                     "Your proposed upload of " + std::to_string(length) +
                         " bytes exceeds the maximum allowed size of " + std::to_string(max) +
                         " bytes (http.max_upload_bytes)"},
                    "s3_put");
    }
  }
  auto sink = store_.begin_put(expected.checksum);
  if (!sink) return refuse(server_error(sink.error()), "s3_put");
  route.label = "s3_put";
  route.sink = std::make_unique<ObjectSink>(std::move(ctx), std::move(*sink));
  route.body_limit = max;
  return route;
}

}  // namespace stockwatch

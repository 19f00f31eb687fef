// The S3-compatible upload endpoint (the S3 bucket of the AWS flow):
// PutObject and multipart uploads (CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload, AbortMultipartUpload) into one bucket,
// inbox.bucket, authenticated with AWS Signature Version 4 (S3SignatureAuthenticator) against the
// [[http.credential]] entries.
//
// Contract:
// - route() decides from the request head alone whether to refuse (an S3
//   XML error with its status) or to take the body; a refused upload never
//   creates a file.
// - A body is streamed to a staging file through the UploadStore, with its
//   MD5, SHA-256 and any x-amz-checksum-* computed on the way, and placed in
//   the inbox under its key only once every digest the client sent matches
//   and, for a credential limited to some stores, every row of the report
//   is for one of them. Then the inbox takes it from there.
// - Runs on the HTTP thread only (it shares that thread's UploadStore).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "http/http_server.hpp"
#include "http/s3/s3_authenticator.hpp"
#include "http/s3/s3_protocol.hpp"
#include "http/s3/upload_store.hpp"
#include "inbox/arrivals.hpp"

namespace stockwatch {

class Metrics;

// Told the inbox-relative name of each report placed whole in the inbox.
using PlacedReport = std::function<void(const std::string& relative)>;
// Told how a report is arriving ("s3", "browser") just before it is renamed
// into the inbox, and again with an empty `by` when that failed.
using ArrivingReport = std::function<void(const std::string& relative, std::string_view by)>;

struct S3GatewayOptions {
  std::string bucket = "inventory";
  HttpConfig http;              // credentials, anonymous uploads, limits, region
  ReportConfig report;          // to read reports for the stores check
};

class S3Gateway {
 public:
  S3Gateway(S3GatewayOptions options, UploadStore& store, const Clock& clock, Metrics* metrics);

  [[nodiscard]] http::Route route(const http::RequestHead& head, const std::string& remote);

  // New credentials and limits (a configuration reload); uploads in flight
  // finish under the old ones.
  void set_options(S3GatewayOptions options);
  // Places a whole report held in memory (an upload of the web console) at
  // `key` in the inbox, as a PutObject would: staged, synced, renamed into
  // place, counted, logged (naming `who`), and told to on_placed(). Returns
  // the problem in words, or nullopt once it is placed.
  [[nodiscard]] std::optional<std::string> place_bytes(const std::string& key, std::string_view data,
                                                       const std::string& who,
                                                       const std::string& remote);
  // Called after each report placed in the inbox (on this thread).
  void on_placed(PlacedReport placed) { placed_ = std::move(placed); }
  // Called just before each report is renamed into the inbox (on this thread).
  void on_arriving(ArrivingReport arriving) { arriving_ = std::move(arriving); }

 private:
  friend class ObjectSink;
  // Places a finished upload at `key` once its report passes the
  // credential's store limit (`stores`), and counts and logs it; `detail`
  // is added to the log line (", key AKID..." or " in 3 parts"). Returns
  // the error to send.
  [[nodiscard]] std::optional<S3Error> place(UploadSink&& sink, const std::string& key,
                                             const std::vector<std::string>& stores,
                                             const std::string& access_key,
                                             const std::string& remote, const std::string& detail,
                                             std::string_view by = Arrivals::kS3);

  S3GatewayOptions options_;
  UploadStore& store_;
  const Clock& clock_;
  Metrics* metrics_;
  PlacedReport placed_;
  ArrivingReport arriving_;
  S3SignatureAuthenticator signatures_;   // after options_: built from them
};

// An S3 error reply (application/xml, x-amz-request-id).
[[nodiscard]] http::Response s3_error_response(const S3Error& error, std::string_view resource,
                                               std::string_view request_id);

}  // namespace stockwatch

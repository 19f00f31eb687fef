// The S3 wire format stockwatch speaks: error replies, object keys, and the
// XML of multipart uploads.
//
// Contract: pure functions on strings; no I/O, no state, callable from any
// thread. Nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.hpp"

namespace stockwatch {

// An S3 error reply: the HTTP status and the <Code> clients act on
// (AccessDenied, SignatureDoesNotMatch, NoSuchUpload, ...).
struct S3Error {
  int status = 400;
  std::string code;
  std::string message;
};

// <?xml ...?><Error><Code/><Message/><Resource/><RequestId/></Error>
[[nodiscard]] std::string s3_error_xml(const S3Error& error, std::string_view resource,
                                       std::string_view request_id);


// Escapes text for XML: &, <, >, " and ' as entities, tab, CR and LF as
// character references, and anything XML cannot hold (other control
// characters, bytes that are not UTF-8) as U+FFFD, so the result is always
// well-formed.
[[nodiscard]] std::string xml_escape(std::string_view text);

// Percent-decodes a URL path or query component; '+' stays '+'. Returns
// nullopt for a malformed escape ("%G1", a lone "%").
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text);
// Percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (and '/' when
// keep_slash), with upper-case hex, as AWS Signature Version 4 requires.
[[nodiscard]] std::string aws_uri_encode(std::string_view text, bool keep_slash);

// The parameters of a query string ("a=1&b&c=x%20y"), decoded, in order;
// a malformed escape is kept as it was sent.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> decode_query(std::string_view query);

struct KeyLimits {
  std::size_t max_key_bytes = 512;
  std::size_t max_depth = 8;          // folders in a key
  std::size_t max_name_bytes = 255;   // each file or folder name (NAME_MAX)
};

// Checks an object key (already percent-decoded) before anything touches
// the disk: a report key is a relative path of non-empty segments ending in
// ".csv", ".xlsx" or ".ods" (any case; report/report_format.hpp), valid UTF-8, with no "." or ".." segment, no hidden
// (dot) segment, no backslash, NUL or other control character, and within
// `limits` (a name over 255 bytes is KeyTooLongError, a client's mistake). Returns the reason it is refused, or nullopt when it is fine.
[[nodiscard]] std::optional<S3Error> check_object_key(std::string_view key,
                                                      const KeyLimits& limits = {});

// One <Part> of a CompleteMultipartUpload request body.
struct CompletedPart {
  int number = 0;
  std::string etag;   // without quotes
};

// Parses <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...
// Returns nullopt (MalformedXML) when the body is not such a list.
[[nodiscard]] std::optional<std::vector<CompletedPart>> parse_complete_multipart(
    std::string_view xml);

[[nodiscard]] std::string initiate_multipart_xml(std::string_view bucket, std::string_view key,
                                                 std::string_view upload_id);
[[nodiscard]] std::string complete_multipart_xml(std::string_view location,
                                                 std::string_view bucket, std::string_view key,
                                                 std::string_view etag);

}  // namespace stockwatch

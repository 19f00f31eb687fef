#include "http/s3/sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "crypto/digest.hpp"

namespace stockwatch {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Trimmed, with runs of spaces folded into one (SigV4's header value rule).
std::string fold_spaces(std::string_view s) {
  s = trim(s);
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// All values of a header, joined with ',' (nullopt when absent).
std::optional<std::string> header(const SigV4Request& r, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [n, v] : r.headers) {
    if (n != name) continue;
    if (out) *out += ',' + fold_spaces(v);
    else out = fold_spaces(v);
  }
  return out;
}

std::string_view path_of(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view query_of(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::optional<std::string> param(const std::vector<std::pair<std::string, std::string>>& params,
                                 std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// Parses 20261202T050541Z (UTC).
std::optional<TimePoint> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  for (std::size_t i = 0; i < 15; ++i) {
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  auto num = [&](std::size_t at, std::size_t n) { return std::stoi(std::string(s.substr(at, n))); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string format_amz_date(TimePoint t) { return format_utc(t, "%Y%m%dT%H%M%SZ"); }

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

S3Error malformed(std::string message) {
  return {400, "AuthorizationHeaderMalformed", std::move(message)};
}
S3Error denied(std::string message) { return {403, "AccessDenied", std::move(message)}; }

// What an Authorization header or a presigned query carries.
struct Claim {
  std::string access_key, date, region, service, terminator;
  std::vector<std::string> signed_headers;
  std::string signature;
  std::string amz_date;
  std::string payload_hash;
  std::optional<long long> expires_s;   // presigned only
};

std::optional<S3Error> parse_credential(std::string_view credential, Claim& c) {
  const auto parts = split(credential, '/');
  if (parts.size() != 5) {
    return malformed("the Credential must be ACCESS_KEY/DATE/REGION/s3/aws4_request, got '" +
                     std::string(credential) + "'");
  }
  c.access_key = parts[0];
  c.date = parts[1];
  c.region = parts[2];
  c.service = parts[3];
  c.terminator = parts[4];
  return std::nullopt;
}

std::optional<S3Error> parse_header_claim(std::string_view auth, const SigV4Request& r, Claim& c) {
  if (auth.substr(0, kAlgorithm.size()) != kAlgorithm) {
    return S3Error{400, "InvalidArgument",
                   "only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted"};
  }
  auth.remove_prefix(kAlgorithm.size());
  bool have_credential = false, have_signed = false, have_signature = false;
  for (const auto& field : split(auth, ',')) {
    const auto f = trim(field);
    const auto eq = f.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = trim(f.substr(0, eq));
    const auto value = trim(f.substr(eq + 1));
    if (name == "Credential") {
      have_credential = true;
      if (auto e = parse_credential(value, c)) return e;
    } else if (name == "SignedHeaders") {
      have_signed = true;
      c.signed_headers = split(value, ';');
    } else if (name == "Signature") {
      have_signature = true;
      c.signature = ascii_lower(value);
    }
  }
  if (!have_credential || !have_signed || !have_signature) {
    return malformed("the Authorization header needs Credential, SignedHeaders and Signature");
  }
  auto date = header(r, "x-amz-date");
  if (!date) return denied("the request has no X-Amz-Date header; sign it with AWS Signature Version 4");
  c.amz_date = *date;
  auto payload = header(r, "x-amz-content-sha256");
  if (!payload) {
    return S3Error{400, "InvalidRequest",
                   "Missing required header for this request: x-amz-content-sha256 (with curl "
                   "--aws-sigv4, add -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')"};
  }
  c.payload_hash = *payload;
  return std::nullopt;
}

std::optional<S3Error> parse_query_claim(const std::vector<std::pair<std::string, std::string>>& q,
                                         Claim& c) {
  const auto algorithm = param(q, "X-Amz-Algorithm");
  const auto credential = param(q, "X-Amz-Credential");
  const auto date = param(q, "X-Amz-Date");
  const auto expires = param(q, "X-Amz-Expires");
  const auto signed_headers = param(q, "X-Amz-SignedHeaders");
  const auto signature = param(q, "X-Amz-Signature");
  if (!algorithm || *algorithm != kAlgorithm) {
    return S3Error{400, "AuthorizationQueryParametersError",
                   "X-Amz-Algorithm must be AWS4-HMAC-SHA256"};
  }
  if (!credential || !date || !expires || !signed_headers || !signature) {
    return S3Error{400, "AuthorizationQueryParametersError",
                   "a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, "
                   "X-Amz-SignedHeaders and X-Amz-Signature"};
  }
  if (auto e = parse_credential(*credential, c)) return e;
  c.amz_date = *date;
  c.signed_headers = split(*signed_headers, ';');
  c.signature = ascii_lower(*signature);
  if (expires->empty() || expires->size() > 6 ||
      !std::all_of(expires->begin(), expires->end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return S3Error{400, "AuthorizationQueryParametersError",
                   "X-Amz-Expires must be a number of seconds"};
  }
  c.expires_s = std::stoll(*expires);
  if (*c.expires_s > 7 * 24 * 3600) {
    return S3Error{400, "AuthorizationQueryParametersError",
                   "X-Amz-Expires must be at most 604800 seconds (7 days)"};
  }
  c.payload_hash = "UNSIGNED-PAYLOAD";
  return std::nullopt;
}

// The path as S3 signs it: every byte encoded once (upper-case hex), each
// escape the client sent decoded first, except an encoded slash, which is
// part of a key and stays "%2F".
std::string canonical_path(std::string_view raw) {
  std::string out;
  std::size_t done = 0;
  for (std::size_t i = 0; i <= raw.size(); ++i) {
    const bool slash_escape = i + 2 < raw.size() && raw[i] == '%' && raw[i + 1] == '2' &&
                              (raw[i + 2] == 'F' || raw[i + 2] == 'f');
    if (i == raw.size() || slash_escape) {
      const auto part = raw.substr(done, i - done);
      const auto decoded = percent_decode(part);
      out += aws_uri_encode(decoded ? std::string_view(*decoded) : part, true);
      if (slash_escape) {
        out += "%2F";
        i += 2;
        done = i + 1;
      }
    }
  }
  return out;
}

}  // namespace

bool has_sigv4(const SigV4Request& request) {
  if (header(request, "authorization")) return true;
  return param(decode_query(query_of(request.target)), "X-Amz-Signature").has_value();
}

std::string sigv4_canonical_request(const SigV4Request& request,
                                    const std::vector<std::string>& signed_headers,
                                    std::string_view payload_hash) {
  std::string out = request.method + "\n";
  const std::string_view raw_path = path_of(request.target);
  out += canonical_path(raw_path);
  if (raw_path.empty()) out += "/";
  out += "\n";
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [n, v] : decode_query(query_of(request.target))) {
    if (n == "X-Amz-Signature") continue;
    params.emplace_back(aws_uri_encode(n, false), aws_uri_encode(v, false));
  }
  std::sort(params.begin(), params.end());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i) out += '&';
    out += params[i].first + "=" + params[i].second;
  }
  out += "\n";
  for (const auto& name : signed_headers) {
    out += name + ":" + header(request, name).value_or("") + "\n";
  }
  out += "\n";
  for (std::size_t i = 0; i < signed_headers.size(); ++i) {
    if (i) out += ';';
    out += signed_headers[i];
  }
  out += "\n";
  out += payload_hash;
  return out;
}

std::string sigv4_string_to_sign(std::string_view amz_date, std::string_view scope,
                                 std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         to_hex(Digest::of(Digest::Kind::kSha256, canonical_request));
}

std::string sigv4_signature(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service, std::string_view string_to_sign) {
  const std::string k_date = hmac_sha256("AWS4" + std::string(secret), date);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  const std::string k_signing = hmac_sha256(k_service, "aws4_request");
  return to_hex(hmac_sha256(k_signing, string_to_sign));
}

SigV4Result verify_sigv4(const SigV4Request& request, const SecretLookup& secret_of, TimePoint now,
                         const SigV4Options& options) {
  SigV4Result result;
  Claim c;
  const auto params = decode_query(query_of(request.target));
  const auto auth = header(request, "authorization");
  std::optional<S3Error> err;
  if (auth) {
    err = parse_header_claim(*auth, request, c);
  } else if (param(params, "X-Amz-Signature") || param(params, "X-Amz-Credential")) {
    err = parse_query_claim(params, c);
    result.presigned = true;
  } else {
    err = denied("the request is not signed; send it with AWS Signature Version 4 "
                 "(e.g. aws s3 cp, or curl --aws-sigv4)");
  }
  if (err) {
    result.error = std::move(err);
    return result;
  }
  result.access_key = c.access_key;
  result.payload_hash = c.payload_hash;

  const auto fail = [&result](S3Error e) {
    result.error = std::move(e);
    return result;
  };
  if (c.service != "s3" || c.terminator != "aws4_request") {
    return fail(malformed("the credential scope must end in /s3/aws4_request"));
  }
  if (!options.region.empty() && c.region != options.region) {
    return fail(malformed("the region '" + c.region + "' is wrong; expecting '" + options.region + "'"));
  }
  const auto when = parse_amz_date(c.amz_date);
  if (!when) return fail(denied("X-Amz-Date '" + c.amz_date + "' is not a date like 20261202T050541Z"));
  if (c.amz_date.substr(0, 8) != c.date) {
    return fail(malformed("the date in the Credential (" + c.date +
                          ") is not the date of X-Amz-Date (" + c.amz_date.substr(0, 8) + ")"));
  }
  if (std::find(c.signed_headers.begin(), c.signed_headers.end(), "host") == c.signed_headers.end()) {
    return fail(malformed("SignedHeaders must include host"));
  }
  if (!std::is_sorted(c.signed_headers.begin(), c.signed_headers.end())) {
    return fail(malformed("SignedHeaders must be in alphabetical order"));
  }
  if (c.expires_s) {
    if (now > *when + std::chrono::seconds(*c.expires_s)) {
      return fail(denied("Request has expired: the presigned URL was valid until " +
                         format_amz_date(*when + std::chrono::seconds(*c.expires_s))));
    }
    if (*when - now > options.max_skew) {
      return fail(S3Error{403, "RequestTimeTooSkewed",
                          "the presigned URL is dated in the future; check the clock of the signer"});
    }
  } else {
    const auto skew = now > *when ? now - *when : *when - now;
    if (skew > options.max_skew) {
      return fail(S3Error{403, "RequestTimeTooSkewed",
                          "The difference between the request time (" + c.amz_date +
                              ") and the server's time (" + format_amz_date(now) +
                              ") is too large; set the client's clock right (NTP)"});
    }
  }
  const auto secret = secret_of(c.access_key);
  if (!secret) {
    return fail(S3Error{403, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records: '" +
                            c.access_key + "' is not an [[http.credential]] of this server"});
  }
  const std::string canonical = sigv4_canonical_request(request, c.signed_headers, c.payload_hash);
  const std::string scope = c.date + "/" + c.region + "/" + c.service + "/" + c.terminator;
  const std::string to_sign = sigv4_string_to_sign(c.amz_date, scope, canonical);
  const std::string expected = sigv4_signature(*secret, c.date, c.region, c.service, to_sign);
  if (!constant_time_equal(expected, c.signature)) {
    return fail(S3Error{403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your key and signing method."});
  }
  return result;
}

void sigv4_sign(SigV4Request& request, std::string_view access_key, std::string_view secret,
                std::string_view region, TimePoint at, std::string_view payload_hash) {
  const std::string amz_date = format_amz_date(at);
  const std::string date = amz_date.substr(0, 8);
  request.headers.emplace_back("x-amz-date", amz_date);
  request.headers.emplace_back("x-amz-content-sha256", std::string(payload_hash));
  std::vector<std::string> names;
  for (const auto& [n, v] : request.headers) names.push_back(n);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const std::string scope = date + "/" + std::string(region) + "/s3/aws4_request";
  const std::string canonical = sigv4_canonical_request(request, names, payload_hash);
  const std::string signature =
      sigv4_signature(secret, date, region, "s3", sigv4_string_to_sign(amz_date, scope, canonical));
  std::string signed_list;
  for (const auto& n : names) signed_list += (signed_list.empty() ? "" : ";") + n;
  request.headers.emplace_back("authorization", std::string(kAlgorithm) + " Credential=" +
                                                    std::string(access_key) + "/" + scope +
                                                    ", SignedHeaders=" + signed_list +
                                                    ", Signature=" + signature);
}

}  // namespace stockwatch

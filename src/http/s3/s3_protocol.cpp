#include "http/s3/s3_protocol.hpp"

#include "crypto/digest.hpp"
#include "report/report_format.hpp"
#include "text/utf8.hpp"

#include <algorithm>
#include <cctype>

namespace stockwatch {

std::string s3_error_xml(const S3Error& error, std::string_view resource,
                         std::string_view request_id) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + xml_escape(error.code) +
         "</Code><Message>" + xml_escape(error.message) + "</Message><Resource>" +
         xml_escape(resource) + "</Resource><RequestId>" + xml_escape(request_id) +
         "</RequestId></Error>\n";
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

S3Error bad_key(std::string message) { return {400, "InvalidArgument", std::move(message)}; }
}  // namespace

std::string xml_escape(std::string_view text) {
  // Whatever the bytes, the result is well-formed XML 1.0 text in UTF-8:
  // markup characters as entities; tab, line feed and carriage return as
  // character references (so a parser keeps them as they were); other
  // control characters, bytes that are not UTF-8 and the non-characters
  // U+FFFE and U+FFFF, which XML does not allow at all, as U+FFFD.
  static const char* kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&apos;"; ++i; continue;
      case '\t': out += "&#9;"; ++i; continue;
      case '\n': out += "&#10;"; ++i; continue;
      case '\r': out += "&#13;"; ++i; continue;
      default: break;
    }
    if (b < 0x20) {
      out += kReplacement;
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(text, i);
    const bool nonchar = n == 3 && b == 0xEF && static_cast<unsigned char>(text[i + 1]) == 0xBF &&
                         static_cast<unsigned char>(text[i + 2]) >= 0xBE;
    if (n == 0 || nonchar) {
      out += kReplacement;
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const auto name = part.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    out.emplace_back(percent_decode(name).value_or(std::string(name)),
                     percent_decode(value).value_or(std::string(value)));
  }
  return out;
}

std::string aws_uri_encode(std::string_view text, bool keep_slash) {
  return percent_encode(text, keep_slash);
}

std::optional<S3Error> check_object_key(std::string_view key, const KeyLimits& limits) {
  if (key.empty()) return bad_key("the object key is empty; name the report, e.g. medan/2026-11.csv");
  if (key.size() > limits.max_key_bytes) {
    return S3Error{400, "KeyTooLongError",
                   "the object key is " + std::to_string(key.size()) + " bytes; at most " +
                       std::to_string(limits.max_key_bytes) + " are accepted"};
  }
  for (std::size_t i = 0; i < key.size();) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c == 0) return bad_key("the object key holds a NUL byte");
    if (c < 0x20 || c == 0x7F) return bad_key("the object key holds a control character");
    if (c == '\\') return bad_key("the object key holds a backslash; use / between folders");
    const std::size_t n = utf8_sequence_length(key, i);
    if (n == 0) return bad_key("the object key is not valid UTF-8");
    // U+0080..U+009F (C1 controls, NEL among them) are control characters too.
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(key[i + 1]) < 0xA0) {
      return bad_key("the object key holds a control character");
    }
    i += n;
  }
  if (key.front() == '/') return bad_key("the object key must not start with /");
  std::size_t depth = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = key.find('/', start);
    const std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) return bad_key("the object key has an empty folder name (//) or ends in /");
    if (seg == "." || seg == "..") {
      return bad_key("the object key must not contain . or .. as a folder name");
    }
    if (seg.front() == '.') {
      return bad_key("the object key has a hidden name (starting with .); such files are never read");
    }
    if (seg.size() > limits.max_name_bytes) {
      return S3Error{400, "KeyTooLongError",
                     "a name in the object key is " + std::to_string(seg.size()) +
                         " bytes; a file or folder name may have at most " +
                         std::to_string(limits.max_name_bytes)};
    }
    if (slash == std::string_view::npos) break;
    if (++depth > limits.max_depth) {
      return bad_key("the object key has more than " + std::to_string(limits.max_depth) +
                     " folders");
    }
    start = slash + 1;
  }
  if (!report_format(key)) {
    return bad_key("only reports can be uploaded: the object key must end in " +
                   std::string(report_extensions()));
  }
  return std::nullopt;
}

namespace {
// The text of every <tag>...</tag> inside `xml`, in order.
std::vector<std::string_view> elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  std::size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    const std::size_t begin = pos + open.size();
    const std::size_t end = xml.find(close, begin);
    if (end == std::string_view::npos) return {};
    out.push_back(xml.substr(begin, end - begin));
    pos = end + close.size();
  }
  return out;
}

std::string trim_etag(std::string_view v) {
  std::string s(v);
  // Clients send the ETag as S3 returned it: "..." or &quot;...&quot;.
  for (const char* q : {"&quot;", "\""}) {
    const std::string quote(q);
    if (s.size() >= 2 * quote.size() && s.compare(0, quote.size(), quote) == 0 &&
        s.compare(s.size() - quote.size(), quote.size(), quote) == 0) {
      s = s.substr(quote.size(), s.size() - 2 * quote.size());
    }
  }
  return s;
}
}  // namespace

std::optional<std::vector<CompletedPart>> parse_complete_multipart(std::string_view xml) {
  if (xml.find("<CompleteMultipartUpload") == std::string_view::npos) return std::nullopt;
  std::vector<CompletedPart> parts;
  for (auto part : elements(xml, "Part")) {
    const auto numbers = elements(part, "PartNumber");
    const auto etags = elements(part, "ETag");
    if (numbers.size() != 1 || etags.size() != 1) return std::nullopt;
    CompletedPart p;
    const auto n = numbers[0];
    if (n.empty() || n.size() > 5 ||
        !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    p.number = std::stoi(std::string(n));
    p.etag = trim_etag(etags[0]);
    parts.push_back(std::move(p));
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

std::string initiate_multipart_xml(std::string_view bucket, std::string_view key,
                                   std::string_view upload_id) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<Bucket>" + xml_escape(bucket) + "</Bucket><Key>" + xml_escape(key) + "</Key><UploadId>" +
         xml_escape(upload_id) + "</UploadId></InitiateMultipartUploadResult>\n";
}

std::string complete_multipart_xml(std::string_view location, std::string_view bucket,
                                   std::string_view key, std::string_view etag) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<Location>" + xml_escape(location) + "</Location><Bucket>" + xml_escape(bucket) +
         "</Bucket><Key>" + xml_escape(key) + "</Key><ETag>&quot;" + xml_escape(etag) +
         "&quot;</ETag></CompleteMultipartUploadResult>\n";
}

}  // namespace stockwatch

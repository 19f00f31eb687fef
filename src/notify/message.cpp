// Alert emails: the sentences users read and the RFC 5322 / MIME message
// that carries them.
#include "notify/message.hpp"

#include "crypto/digest.hpp"
#include "text/utf8.hpp"
#include "text/catalog.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace stockwatch {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kHex = "0123456789ABCDEF";
constexpr std::string_view kHexLower = "0123456789abcdef";
// Longest line a message may carry (RFC 5322 section 2.1.1).
constexpr std::size_t kMaxLineOctets = 998;
// Longest quoted-printable line (RFC 2045 section 6.7).
constexpr std::size_t kQpLineOctets = 76;
// Octets of UTF-8 per encoded-word: 42 octets are 56 base64 characters, so
// one word is 68 characters and "Subject: " plus a word fits in 78.
constexpr std::size_t kWordOctets = 42;
constexpr std::string_view kFallbackDomain = "stockwatch.localhost";


bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

bool is_plain_printable_ascii(std::string_view text) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  // "=?" could be read as the start of an encoded-word by a mail reader.
  return text.find("=?") == std::string_view::npos;
}


// RFC 2047 encoded-words, folded onto continuation lines; a character is
// never split between two words.
std::string encode_words(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = pos;
    while (end < text.size()) {
      const std::size_t len = std::max<std::size_t>(utf8_sequence_length(text, end), 1);
      if (end + len - pos > kWordOctets) break;
      end += len;
    }
    if (!out.empty()) {
      out += kCrlf;
      out += ' ';
    }
    out += "=?UTF-8?B?";
    out += to_base64(text.substr(pos, end - pos));
    out += "?=";
    pos = end;
  }
  return out;
}

// A header value that is safe as an address or a Message-ID: one line, no
// angle brackets.
std::string sanitize_address(std::string_view text) {
  std::string out = sanitize_text(text);
  for (char& c : out) {
    if (c == '<' || c == '>') c = '?';
  }
  return out;
}

// The body as the reader will see it: '\n' line ends kept (a "\r\n" pair
// counts as one), every other control character and invalid UTF-8 byte
// shown as '?'; always ends with a line end.
std::string sanitize_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + 1);
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t nl = body.find('\n', start);
    const bool has_nl = nl != std::string_view::npos;
    if (!has_nl) nl = body.size();
    std::string_view line = body.substr(start, nl - start);
    if (has_nl && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += sanitize_text(line);
    out += '\n';
    start = nl + 1;
  }
  return out;
}

// Folds a plain ASCII header value at spaces so that no line of the header
// exceeds 78 characters where a space allows it (RFC 5322 section 2.2.3);
// unfolding (removing each CRLF) gives the value back unchanged.
std::string fold_at_spaces(std::size_t name_len, std::string_view value) {
  constexpr std::size_t kFoldLine = 78;
  std::string out;
  std::size_t line_len = name_len + 2;  // "Name: "
  std::size_t pos = 0;
  while (pos < value.size()) {
    // The next word and the space in front of it (none for the first).
    std::size_t end = value.find(' ', pos + 1);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view word = value.substr(pos, end - pos);
    if (pos > 0 && line_len + word.size() > kFoldLine && line_len > 1) {
      out += kCrlf;  // the word's leading space starts the continuation line
      line_len = 0;
    }
    out += word;
    line_len += word.size();
    pos = end;
  }
  return out;
}

void append_header(std::string& out, std::string_view name, std::string_view value);

// A MIME boundary from `prefix` and the Message-ID: "=_" never occurs in
// quoted-printable (a '=' there is followed by a hex digit or a line end)
// nor in base64 (a '=' there ends the data); characters a quoted
// parameter cannot hold become '_'.
std::string mime_boundary(std::string_view prefix, std::string_view message_id) {
  std::string boundary = std::string(prefix) + std::string(message_id.substr(0, 40));
  for (char& c : boundary) {
    if (c == '"' || is_control(static_cast<unsigned char>(c)) || c == ' ') c = '_';
  }
  return boundary;
}

// The headers and the quoted-printable body of a UTF-8 text part.
void append_text_part(std::string& out, std::string_view type, std::string_view text) {
  append_header(out, "Content-Type", std::string(type) + "; charset=utf-8");
  append_header(out, "Content-Transfer-Encoding", "quoted-printable");
  out += kCrlf;
  out += quoted_printable(sanitize_body(text));
}

// The Content-Type header of a multipart body, its preamble and the
// boundary line of its first part.
void open_multipart(std::string& out, std::string_view content_type, std::string_view boundary) {
  append_header(out, "Content-Type", content_type);
  out += kCrlf;
  out += "This is a message in several parts (MIME).";
  out += kCrlf;
  out += "--";
  out += boundary;
  out += kCrlf;
}

// Ends the part before (its text ends without a line end) and opens the next.
void next_part(std::string& out, std::string_view boundary) {
  out += kCrlf;
  out += "--";
  out += boundary;
  out += kCrlf;
}

// Ends the last part (its text ends without a line end) and the body.
void close_multipart(std::string& out, std::string_view boundary) {
  out += kCrlf;
  out += "--";
  out += boundary;
  out += "--";
  out += kCrlf;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += kCrlf;
}

}  // namespace

// Store and item names come from reports: sanitised here so that a name can
// never break a line of the alert.
std::string out_of_stock_sentence(std::string_view store, std::string_view item) {
  const std::string s = sanitize_text(store), i = sanitize_text(item);
  return english().format("alert.out_of_stock.sentence", {{"store", s}, {"item", i}});
}

std::string back_in_stock_sentence(std::string_view store, std::string_view item,
                                   std::int64_t count) {
  const std::string s = sanitize_text(store), i = sanitize_text(item), n = std::to_string(count);
  return english().format("alert.back_in_stock.sentence", {{"store", s}, {"item", i}, {"count", n}});
}

std::string sanitize_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t len = utf8_sequence_length(text, pos);
    if (len == 0 || (len == 1 && is_control(static_cast<unsigned char>(text[pos])))) {
      out += '?';
      ++pos;
    } else {
      out.append(text.substr(pos, len));
      pos += len;
    }
  }
  return out;
}

std::string encode_header_text(std::string_view text) {
  if (is_plain_printable_ascii(text)) return std::string(text);
  return encode_words(text);
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 8);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    const bool has_nl = nl != std::string_view::npos;
    if (!has_nl) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (has_nl && !line.empty() && line.back() == '\r') line.remove_suffix(1);

    std::size_t line_len = 0;  // octets on the current encoded line
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      char token[3];
      std::size_t token_len = 1;
      const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      if (literal) {
        token[0] = static_cast<char>(c);
      } else {
        token[0] = '=';
        token[1] = kHex[c >> 4];
        token[2] = kHex[c & 0x0F];
        token_len = 3;
      }
      // A line that continues needs one octet left for the soft break '='.
      const std::size_t limit = last ? kQpLineOctets : kQpLineOctets - 1;
      if (line_len + token_len > limit) {
        out += '=';
        out += kCrlf;
        line_len = 0;
      }
      out.append(token, token_len);
      line_len += token_len;
    }
    if (has_nl) out += kCrlf;
    start = nl + 1;
  }
  return out;
}

std::string rfc5322_date(TimePoint t) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const weekday wd{day};
  const hh_mm_ss<seconds> hms{secs - day};

  const auto two = [](long v) {
    std::string s = std::to_string(v);
    return s.size() < 2 ? "0" + s : s;
  };
  std::string out;
  out += kDays[wd.c_encoding()];
  out += ", ";
  out += two(static_cast<unsigned>(ymd.day()));
  out += ' ';
  out += kMonths[static_cast<unsigned>(ymd.month()) - 1];
  out += ' ';
  out += std::to_string(static_cast<int>(ymd.year()));
  out += ' ';
  out += two(hms.hours().count());
  out += ':';
  out += two(hms.minutes().count());
  out += ':';
  out += two(hms.seconds().count());
  out += " +0000";
  return out;
}

namespace {
// A file name parameter: `name="Medan.xlsx"` for printable ASCII, else
// RFC 2231's `name*=UTF-8''%XX...`. Control characters, quotes, slashes and
// backslashes become '_'.
std::string filename_parameter(std::string_view param, std::string_view filename) {
  std::string name;
  for (const char ch : sanitize_text(filename)) {
    name += (ch == '"' || ch == '\\' || ch == '/' || ch == '?') ? '_' : ch;
  }
  if (name.empty()) name = "attachment";
  bool ascii = true;
  for (const char ch : name) {
    if (static_cast<unsigned char>(ch) > 0x7E) ascii = false;
  }
  if (ascii) return std::string(param) + "=\"" + name + "\"";
  return std::string(param) + "*=UTF-8''" + percent_encode(name);
}
}  // namespace

std::string render_message(const MessageSpec& spec, const ReplyHeaders* reply) {
  std::string out;
  append_header(out, "From", sanitize_address(spec.from));
  append_header(out, "To", sanitize_address(spec.to));

  const std::string subject = sanitize_text(spec.subject);
  std::string subject_value = encode_header_text(subject);
  if (subject_value == subject && subject.size() + 9 > 78) {
    subject_value = fold_at_spaces(7, subject);
    bool fits = true;
    for (std::size_t start = 0; start <= subject_value.size();) {
      std::size_t end = subject_value.find(kCrlf, start);
      if (end == std::string::npos) end = subject_value.size();
      if (end - start + (start == 0 ? 9 : 0) > kMaxLineOctets) fits = false;
      start = end + kCrlf.size();
    }
    // A run without spaces too long for any line: encoded-words fold it.
    if (!fits) subject_value = encode_words(subject);
  }
  append_header(out, "Subject", subject_value);
  append_header(out, "Date", rfc5322_date(spec.date));
  if (!spec.message_id.empty()) {
    append_header(out, "Message-ID", "<" + sanitize_address(spec.message_id) + ">");
  }
  static const ReplyHeaders kNone;
  const ReplyHeaders& r = reply ? *reply : kNone;
  if (!r.in_reply_to.empty()) {
    append_header(out, "In-Reply-To", "<" + sanitize_address(r.in_reply_to) + ">");
  }
  if (!r.references.empty()) {
    // One id per line after the first: no line grows past 78 octets for
    // ids of ordinary length.
    std::string value;
    for (const auto& id : r.references) {
      if (id.empty()) continue;
      if (!value.empty()) value += std::string(kCrlf) + " ";
      value += "<" + sanitize_address(id) + ">";
    }
    if (!value.empty()) append_header(out, "References", value);
  }
  if (r.auto_replied) append_header(out, "Auto-Submitted", "auto-replied");
  append_header(out, "MIME-Version", "1.0");
  if (spec.attachments.empty() && !spec.html.empty()) {
    const std::string boundary = mime_boundary("=_stockwatch_alt_", spec.message_id);
    // Folded, so that the header's lines stay within 78 characters.
    open_multipart(out, "multipart/alternative;\r\n boundary=\"" + boundary + "\"", boundary);
    append_text_part(out, "text/plain", spec.body);
    next_part(out, boundary);
    append_text_part(out, "text/html", spec.html);
    close_multipart(out, boundary);
    return out;
  }
  if (spec.attachments.empty()) {
    append_text_part(out, "text/plain", spec.body);
    return out;
  }
  const std::string safe_boundary = mime_boundary("=_stockwatch_", spec.message_id);
  open_multipart(out, "multipart/mixed; boundary=\"" + safe_boundary + "\"", safe_boundary);
  append_text_part(out, "text/plain", spec.body);
  for (const Attachment& a : spec.attachments) {
    next_part(out, safe_boundary);
    const std::string type = sanitize_address(a.content_type);
    append_header(out, "Content-Type", type + "; " + filename_parameter("name", a.filename));
    append_header(out, "Content-Disposition",
                  "attachment; " + filename_parameter("filename", a.filename));
    append_header(out, "Content-Transfer-Encoding", "base64");
    out += kCrlf;
    const std::string encoded = to_base64(a.bytes);
    for (std::size_t i = 0; i < encoded.size(); i += kQpLineOctets) {
      out.append(encoded, i, kQpLineOctets);
      out += kCrlf;
    }
  }
  out += "--" + safe_boundary + "--";
  out += kCrlf;
  return out;
}

std::string make_message_id(std::string_view kind, std::int64_t key, std::string_view recipient,
                            std::string_view from) {
  std::string input;
  input += kind;
  input += '|';
  input += std::to_string(key);
  input += '|';
  input += recipient;

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  std::string hex;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_len, EVP_sha256(), nullptr) ==
          1 &&
      digest_len >= 8) {
    for (std::size_t i = 0; i < 8; ++i) {
      hex += kHexLower[digest[i] >> 4];
      hex += kHexLower[digest[i] & 0x0F];
    }
  } else {
    hex = "0000000000000000";
  }

  // The kind becomes part of the id's left side: letters, digits, '-', '_'.
  std::string left;
  for (const char c : kind) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    left += ok ? c : '-';
  }
  if (left.empty()) left = "alert";

  // The sender's domain, when it is a plain host name.
  std::string_view domain;
  if (const auto at = from.rfind('@'); at != std::string_view::npos) {
    domain = from.substr(at + 1);
  }
  bool domain_ok = !domain.empty() && domain.front() != '.' && domain.back() != '.' &&
                   domain.find("..") == std::string_view::npos;
  for (const char c : domain) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.')) {
      domain_ok = false;
    }
  }
  if (!domain_ok) domain = kFallbackDomain;

  std::string id = left;
  id += '.';
  id += std::to_string(key);
  id += '.';
  id += hex;
  id += '@';
  id += domain;
  return id;
}

}  // namespace stockwatch

#include "text/printable.hpp"

#include "text/utf8.hpp"

namespace stockwatch {

namespace {

constexpr const char* kHex = "0123456789abcdef";

void append_hex(std::string& out, const char* prefix, unsigned char c) {
  out += prefix;
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string printable_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  const std::size_t n = name.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(name, i);
    if (len == 0) {
      append_hex(out, "\\x", c);
      ++i;
      continue;
    }
    out.append(name.substr(i, len));
    i += len;
  }
  return out;
}

std::string name_from_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x' &&
               hex_digit(text[i + 2]) >= 0 && hex_digit(text[i + 3]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 2]) * 16 + hex_digit(text[i + 3]));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

void append_for_log(std::string_view text, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c == '\n') {
      out += "\\n";
      ++i;
      continue;
    }
    if (c == '\r') {
      out += "\\r";
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0 || (c < 0x20 && c != '\t') || c == 0x7F) {
      append_hex(out, "\\x", c);
      ++i;
      continue;
    }
    if (len == 2 && c == 0xC2 && p[i + 1] < 0xA0) {  // C1 control
      append_hex(out, "\\u00", p[i + 1]);
      i += 2;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
}

}  // namespace stockwatch

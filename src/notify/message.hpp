// Building alert emails: the words and the RFC 5322 / MIME message.
//
// Contract: pure functions, no I/O, safe from any thread. Every value that
// comes from a report (store, item, file name) is neutralised before it goes
// into a header or the body: control characters (CR, LF, TAB, NUL, DEL and
// the rest) become '?' in headers and U+FFFD-free visible text in the body,
// so a report can never add or split a header. Non-ASCII subjects are
// RFC 2047 encoded; bodies are UTF-8 in quoted-printable, so no line
// exceeds 76 octets whatever the report holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"

namespace stockwatch {

// "Medan is out of stock of Robusta Dairi": the original Check-Stock words.
std::string out_of_stock_sentence(std::string_view store, std::string_view item);
// "Medan has Robusta Dairi back in stock (12)".
std::string back_in_stock_sentence(std::string_view store, std::string_view item,
                                   std::int64_t count);

// Replaces control characters and invalid UTF-8 with '?'; keeps the rest.
std::string sanitize_text(std::string_view text);

// A file sent with a message, as a base64 MIME part.
struct Attachment {
  std::string filename;       // UTF-8; characters a file name cannot hold become '_'
  std::string content_type;   // "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
  std::string bytes;
};

struct MessageSpec {
  std::string from;
  std::string to;
  std::string subject;      // UTF-8; encoded as needed
  std::string body;         // UTF-8, '\n' line ends
  std::string message_id;   // without <>
  TimePoint date{};
  // None: a text/plain message. Otherwise multipart/mixed: the body, then
  // each attachment (base64, lines of 76 characters), under a boundary
  // that neither quoted-printable nor base64 can contain.
  std::vector<Attachment> attachments;
  // With no attachments: when set, multipart/alternative, the body as
  // text/plain then this HTML (UTF-8, quoted-printable) as text/html.
  std::string html;
};

// What makes a message a reply: the Message-ID it answers and the thread's
// References (each without <>), and Auto-Submitted: auto-replied
// (RFC 3834), so that auto-responders stay quiet.
struct ReplyHeaders {
  std::string in_reply_to;
  std::vector<std::string> references;
  bool auto_replied = false;
};

// The whole message, headers and body, with CRLF line ends; with `reply`,
// its headers too.
std::string render_message(const MessageSpec& spec, const ReplyHeaders* reply = nullptr);

// RFC 5322 date, e.g. "Wed, 25 Nov 2026 17:04:19 +0000".
std::string rfc5322_date(TimePoint t);

// Encodes `text` as an RFC 2047 encoded-word sequence when it is not plain
// printable ASCII; returns it unchanged otherwise.
std::string encode_header_text(std::string_view text);

// Quoted-printable (RFC 2045) with soft line breaks at 76 octets; input
// '\n' line ends become CRLF.
std::string quoted_printable(std::string_view text);

// A stable Message-ID (without <>): the same arguments give the same id, so
// a retried message keeps it and a mail system can drop a second copy.
std::string make_message_id(std::string_view kind, std::int64_t key, std::string_view recipient,
                            std::string_view from);

}  // namespace stockwatch

// A mail as the mailbox reads it: who sent it, whether a machine sent it,
// what it answers, and its attached files, parsed with GMime.
//
// Contract:
// - parse_mail() reads an RFC 5322 mail from a file (GMime keeps offsets
//   into it, not the content, so a large mail costs little memory), and
//   writes each attached file, decoded, to its own file in `scratch`
//   (named by position; the caller removes them). A part is an attached
//   file when it has a file name (Content-Disposition filename or
//   Content-Type name, RFC 2047 and RFC 2231 encodings decoded to UTF-8);
//   text without a name (the message body, a table pasted into it) is
//   not. Attached mails (message/rfc822) are read inside, up to a depth.
// - Broken MIME is read as far as GMime can: a missing boundary gives
//   fewer parts, never an error. Only a file that cannot be read or
//   written is an Error (kIo).
// - Every GMime object is owned by a move-only handle (GObjectPtr) and
//   released on every path.
// - Blocking file I/O: call it from the mailbox's thread. GMime is set up
//   once per process (thread-safe); after that each call is independent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace stockwatch {

struct MailFile {
  int position = 0;                 // among the mail's attached files, from 0
  std::string name;                 // UTF-8, as sent (not yet made safe)
  std::string content_type;         // "text/csv"
  std::filesystem::path file;       // the decoded content; empty when not written
  std::uint64_t size = 0;           // decoded size
  bool over_limit = false;          // larger than max_file_bytes: not written
};

struct MailLimits {
  std::uint64_t max_file_bytes = 50ULL * 1024 * 1024;  // larger files are noted, not kept
  int max_files = 1000;             // files noted at most (the rest are ignored)
  int max_depth = 8;                // attached mails inside attached mails
  // Which names to write to `scratch` (the others are only noted).
  bool (*wanted)(std::string_view name) = nullptr;   // null: every file
};

struct ParsedMail {
  std::string message_id;           // without <>; empty when missing or unusable
  std::string from;                 // the From address, lower case; empty when none
  std::string subject;              // UTF-8
  std::vector<std::string> references;   // References, then In-Reply-To (ids without <>)
  // Why a machine sent it ("Auto-Submitted: auto-replied", "a delivery
  // report", ...): such mail is never answered. Empty: a person sent it.
  std::string automated;
  std::vector<std::string> authentication_results;   // each header's value, top first
  std::vector<MailFile> files;
};

// Parses the mail in `mail` and writes its wanted files into `scratch`.
[[nodiscard]] Result<ParsedMail> parse_mail(const std::filesystem::path& mail,
                                            const std::filesystem::path& scratch,
                                            const MailLimits& limits);
// The header fields alone (a mail too large to download).
[[nodiscard]] Result<ParsedMail> parse_mail_header(std::string_view header);

// A mail as a person reads it: its subject, its recipients and its plain
// text, decoded to UTF-8 (the console shows a sent alert this way).
struct MailText {
  std::string subject;
  std::string to;                   // the To header, decoded ("a@example.com, b@example.com")
  std::string text;                 // the first text/plain part that is not an attached file
  std::vector<std::string> files;   // the names of its attached files
};
// Reads a whole mail held in memory; a mail GMime cannot read gives an
// empty MailText, never an error.
[[nodiscard]] MailText read_mail_text(std::string_view mail);

// Whether the receiving server `authserv_id` vouched for the From domain:
// the first Authentication-Results header with that id says dmarc=pass
// (and, when it names header.from, the From address's domain).
[[nodiscard]] bool authenticated_by(const ParsedMail& mail, std::string_view authserv_id);

}  // namespace stockwatch

// The answer to a mail that brought reports (or should have), as the outbox
// keeps it (event "mail_reply"): what became of each attachment, rendered
// in the row's language when it is sent, as a reply in the sender's thread.
//
// Contract:
// - The mailbox (mailbox/mailbox_stage.hpp) builds a MailReply once every
//   attachment is in the ledger and stores encode_mail_reply() as the
//   row's payload; render_email() (notify/alert.hpp) renders it at each
//   attempt.
//   The rendering depends only on the row (payload, language, sender,
//   recipient, Message-ID, created_at): every retry sends the same bytes.
// - The email answers the mail: In-Reply-To and References name it, the
//   subject is "Re: <its subject>", and Auto-Submitted: auto-replied keeps
//   auto-responders from answering it.
// - Every value from the mail (names, subject, store and item names) is
//   neutralised when rendered (notify/message.hpp).
// - A payload that cannot be read is kCorrupt (the mailer gives up on it).
// - Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "notify/alert.hpp"
#include "store/storage.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

// outbox.event of a reply to a mail.
inline constexpr std::string_view kMailReplyEvent = "mail_reply";

// What became of one attachment.
enum class MailOutcome : unsigned char {
  kLoaded,        // report_id, rows, events
  kDuplicate,     // report_id (the duplicate's entry), duplicate_of
  kRejected,      // report_id, problems
  kTooLarge,      // size, limit
  kNotReport,     // a file that is not a .csv, .xlsx or .ods (a zip, a picture)
  kForeignStore,  // store, line: a row for a store the sender may not report for
  kTooMany,       // past mailbox.max_attachments
  kUnreadable,    // problems_text: the attachment could not be decoded or placed
};
[[nodiscard]] std::string_view mail_outcome_name(MailOutcome outcome);

// One alert a loaded report raised, as the reply lists it.
struct MailReplyEvent {
  std::string event;      // event_name()
  std::string store;
  std::string item;
  std::int64_t count = 0;
};

struct MailReplyAttachment {
  std::string name;
  MailOutcome outcome = MailOutcome::kLoaded;
  std::int64_t report_id = 0;
  std::int64_t rows = 0;
  std::int64_t duplicate_of = 0;
  std::string problems;          // rejected: the stored form (JSON), or
  std::string problems_text;     // their text
  std::vector<MailReplyEvent> events;   // the first ones
  std::int64_t events_total = 0;
  std::string store;             // foreign store
  std::int64_t line = 0;
  bool in_workbook = false;      // `line` is a sheet's row
  std::uint64_t size = 0;        // too large
  std::uint64_t limit = 0;
};

// Which answer a mail gets.
enum class MailReplyKind : unsigned char {
  kResults,       // per attachment, what became of it
  kHowTo,         // no report attached: how to send one
  kRefused,       // not a sender this mailbox takes reports from
  kUnverified,    // a listed sender's address, but the mail server did not vouch for it
  kTooLarge,      // the mail is larger than mailbox.max_message_bytes: not read
};

struct MailReply {
  MailReplyKind kind = MailReplyKind::kResults;
  std::string subject;                    // the mail's subject
  std::string in_reply_to;                // its Message-ID, without <>
  std::vector<std::string> references;    // the thread, ending with in_reply_to
  std::string mailbox;                    // the address reports are sent to
  std::string sender;                     // the mail's From address
  std::uint64_t size = 0;                 // kTooLarge: the mail's size and the limit
  std::uint64_t limit = 0;
  std::vector<MailReplyAttachment> attachments;
  static constexpr std::size_t kMaxEvents = 20;   // alerts listed per attachment
};

// Versioned JSON: {"v":1,"kind":"results","attachments":[...],...}.
[[nodiscard]] std::string encode_mail_reply(const MailReply& reply);
[[nodiscard]] Result<MailReply> decode_mail_reply(std::string_view payload);

[[nodiscard]] RenderedText render_mail_reply(const MailReply& reply, const Catalog& catalog);

}  // namespace stockwatch

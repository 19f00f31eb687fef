// A store's stock-count sheet mailed to a subscriber, as the outbox keeps
// it (event "template"): the workbook itself and what the email says about
// it, rendered in the row's language when it is sent.
//
// Contract:
// - The template stage (pipeline/template_stage.hpp) makes the workbook
//   when it queues the message and stores encode_template_mail() as the
//   row's payload, so every attempt sends the same sheet: the counts as
//   they were at the scheduled time, whatever loads after it.
// - Its email (render_email(), notify/alert.hpp) is pure: the row alone (payload, language,
//   sender, recipient, Message-ID, created_at) gives the same bytes every
//   time: a multipart/mixed email with the text and the .xlsx attachment.
// - A payload that cannot be read is kCorrupt (the mailer then gives up on
//   that message).
// - Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "notify/alert.hpp"
#include "notify/message.hpp"
#include "store/storage.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

// outbox.event of a stock-count sheet.
inline constexpr std::string_view kTemplateEvent = "template";
inline constexpr std::string_view kXlsxType =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct TemplateMail {
  std::string store;
  std::int64_t items = 0;
  TimePoint as_of{};              // the scheduled time the sheet was made at
  std::string count_header;       // the sheet's headers, for the instructions
  std::string last_count_header;
  std::string xlsx;               // the workbook
};

// Versioned JSON: {"v":1,"store":...,"xlsx":"<base64>",...}.
[[nodiscard]] std::string encode_template_mail(const TemplateMail& mail);
[[nodiscard]] Result<TemplateMail> decode_template_mail(std::string_view payload);

[[nodiscard]] RenderedText render_template_mail(const TemplateMail& mail, const Catalog& catalog);
// "Medan.xlsx" (characters a file name cannot hold become '_').
[[nodiscard]] Attachment template_attachment(const TemplateMail& mail);

}  // namespace stockwatch

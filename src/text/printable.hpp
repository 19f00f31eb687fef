// Text from outside (file names, object keys, header cells) made safe to
// store and to show, in one place.
//
// Contract: pure functions on bytes; callable from any thread; nothing
// throws.
#pragma once

#include <string>
#include <string_view>

namespace stockwatch {

// A file name or path as valid UTF-8 text that still names the file: each
// byte that is not part of a valid UTF-8 sequence becomes "\xNN" (two
// lower-case hex digits), and a backslash becomes "\\". Every other
// character stays as it is, control characters too (each place that shows
// a name neutralises those its own way: emails, JSON, the log). The escape
// is reversible (name_from_printable), and names that are plain UTF-8
// without backslashes are unchanged. The ledger and the API store and show
// names this way (docs/inbox.md).
[[nodiscard]] std::string printable_name(std::string_view name);

// The bytes of the name printable_name() wrote: "\\" is a backslash,
// "\xNN" the byte 0xNN; any other backslash is kept as it is.
[[nodiscard]] std::string name_from_printable(std::string_view text);

// Appends `text` to `out` so that it stays on one log line and cannot pass
// for another: line feed and carriage return as "\n" and "\r", every other
// control character (C0, DEL, and the C1 range U+0080..U+009F) and each
// byte that is not UTF-8 as "\xNN" (or "\u00NN" for C1). Tabs stay.
void append_for_log(std::string_view text, std::string& out);

}  // namespace stockwatch

// UTF-8 well-formedness, the one definition every part uses (the report
// parser, email headers, S3 keys, names shown in logs and the ledger).
//
// Contract: pure functions, no allocation, safe from any thread. "Well
// formed" is RFC 3629: shortest form only, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF, no truncated sequence.
#pragma once

#include <cstddef>
#include <string_view>

namespace stockwatch {

// Length (1 to 4) of the well-formed sequence that starts at text[pos], or
// 0 when the byte there does not start one. pos must be < text.size().
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// Whether all of `text` is well-formed UTF-8 (ASCII is checked eight bytes
// at a time, so this is cheap on the hot path of a report).
[[nodiscard]] bool valid_utf8(std::string_view text);

}  // namespace stockwatch

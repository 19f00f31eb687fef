// Text made safe for HTML: the one escaping rule of every page of the web
// console and the HTML part of every email.
//
// Contract: html_escape() replaces & < > " ' with character references and
// line breaks (CR, LF) with &#13; / &#10;, so a name from a report shows
// literally wherever it lands, in element text or in a quoted attribute,
// and can never close an element or an attribute. Every other character is
// kept. Pure function, safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace stockwatch {

[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace stockwatch

// HTML for the web console, escaped by default: every value put into a
// page goes through escape(), which is safe in text and in a quoted
// attribute alike; only Markup (HTML this code built) goes in as it is.
//
// Contract:
// - escape() replaces & < > " ' with character references, and line
//   breaks (CR, LF) with &#13; / &#10;, so a name from a report shows
//   literally wherever it lands, newlines included, and can never close an
//   element or an attribute. Other characters (right-to-left marks
//   included) are kept: show names with name(), which isolates them in
//   <bdi> so a right-to-left override cannot reorder the text around it.
// - html(tmpl, args): each "{}" in `tmpl` (trusted markup, written in the
//   code) is replaced by the next argument, escaped unless it is Markup;
//   "{{" is a literal "{". Too few arguments is a programming error
//   (std::logic_error), too many are ignored.
// - Pure functions; any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace stockwatch::console {

// A piece of HTML that is already safe.
struct Markup {
  std::string html;
  Markup& operator+=(const Markup& other) {
    html += other.html;
    return *this;
  }
};

[[nodiscard]] std::string escape(std::string_view text);

// One value for html(): text (escaped), a number, or Markup (as it is).
class HtmlArg {
 public:
  HtmlArg(std::string_view text) : text_(escape(text)) {}
  HtmlArg(const std::string& text) : text_(escape(text)) {}
  HtmlArg(const char* text) : text_(escape(text)) {}
  HtmlArg(std::int64_t n) : text_(std::to_string(n)) {}
  HtmlArg(int n) : text_(std::to_string(n)) {}
  HtmlArg(const Markup& m) : text_(m.html) {}
  [[nodiscard]] const std::string& html() const { return text_; }

 private:
  std::string text_;
};

[[nodiscard]] Markup html(std::string_view tmpl, std::initializer_list<HtmlArg> args = {});
// A name from a report or an account, isolated: <bdi>name</bdi>.
[[nodiscard]] Markup name(std::string_view text);

}  // namespace stockwatch::console

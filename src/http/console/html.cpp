#include "http/console/html.hpp"

#include <stdexcept>

namespace stockwatch::console {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
  return out;
}

Markup html(std::string_view tmpl, std::initializer_list<HtmlArg> args) {
  Markup out;
  out.html.reserve(tmpl.size() + 64);
  auto next = args.begin();
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out.html += '{';
      ++i;
    } else if (tmpl[i] == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      if (next == args.end()) throw std::logic_error("html(): too few arguments for the template");
      out.html += next->html();
      ++next;
      ++i;
    } else {
      out.html += tmpl[i];
    }
  }
  return out;
}

Markup name(std::string_view text) { return html("<bdi>{}</bdi>", {text}); }

}  // namespace stockwatch::console

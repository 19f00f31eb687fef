#include "http/console/html.hpp"

#include <stdexcept>

#include "text/html_escape.hpp"

namespace stockwatch::console {

std::string escape(std::string_view text) { return html_escape(text); }

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

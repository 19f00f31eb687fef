// What the web console reads from a browser's request: cookies, form
// fields (urlencoded and multipart), the language it asks for, and whether
// a state-changing request comes from the console's own pages.
//
// Contract: pure functions of their arguments; any thread. Malformed input
// gives an empty or partial answer, never an exception.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch::console {

// The value of cookie `name` in a Cookie header ("a=1; b=2"), if present.
[[nodiscard]] std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// application/x-www-form-urlencoded: '+' is a space, %XX a byte. A name
// given twice keeps its last value.
[[nodiscard]] std::map<std::string, std::string> parse_urlencoded(std::string_view body);

// One part of a multipart/form-data body.
struct FormPart {
  std::string name;        // the field's name
  std::string filename;    // for a file; empty otherwise (a file input left empty has "")
  bool is_file = false;    // a filename attribute was present
  std::string data;
};
// The parts of a multipart/form-data body whose Content-Type (with its
// boundary) is `content_type`; nullopt when the body is not one.
[[nodiscard]] std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                                   std::string_view body);

// Whether a state-changing request comes from a page of this site: the
// browser's Sec-Fetch-Site says "same-origin" (or is absent), and Origin,
// when sent, is http(s)://<host> for the Host the request was sent to.
[[nodiscard]] bool same_origin(std::string_view origin, std::string_view fetch_site,
                               std::string_view host);

// "id" or "en" from an Accept-Language header: the first of the two the
// browser lists, by its q-values; "en" when it lists neither.
[[nodiscard]] std::string pick_language(std::string_view accept_language);

}  // namespace stockwatch::console

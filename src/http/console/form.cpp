#include "http/console/form.hpp"

#include <algorithm>
#include <cstdlib>

#include "http/s3/s3_protocol.hpp"

namespace stockwatch::console {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of `param` in a header value's parameters ("form-data; name="x"").
std::optional<std::string> header_param(std::string_view value, std::string_view param) {
  std::size_t at = 0;
  while (at < value.size()) {
    auto semi = value.find(';', at);
    if (semi == std::string_view::npos) return std::nullopt;
    at = semi + 1;
    auto rest = trim(value.substr(at));
    auto eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(rest.substr(0, eq)), param)) continue;
    auto v = rest.substr(eq + 1);
    if (!v.empty() && v.front() == '"') {
      std::string out;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) out += v[++i];
        else if (v[i] == '"') break;
        else out += v[i];
      }
      return out;
    }
    return std::string(trim(v.substr(0, v.find(';'))));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = trim(header.substr(0, semi));
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return std::string(pair.substr(eq + 1));
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::map<std::string, std::string> parse_urlencoded(std::string_view body) {
  std::string plus_free(body);
  std::replace(plus_free.begin(), plus_free.end(), '+', ' ');
  std::map<std::string, std::string> out;
  for (auto& [k, v] : decode_query(plus_free)) out[k] = std::move(v);
  return out;
}

std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body) {
  const auto semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "multipart/form-data")) return std::nullopt;
  const auto boundary = header_param(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  const std::string delimiter = "--" + *boundary;
  std::vector<FormPart> parts;
  std::size_t at = body.find(delimiter);
  if (at == std::string_view::npos) return std::nullopt;
  while (true) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;   // the closing delimiter
    if (body.substr(at, 2) != "\r\n") return std::nullopt;
    at += 2;
    const auto head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos) return std::nullopt;
    FormPart part;
    std::string_view headers = body.substr(at, head_end - at);
    while (!headers.empty()) {
      auto nl = headers.find("\r\n");
      auto line = headers.substr(0, nl);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), "content-disposition")) {
        auto value = line.substr(colon + 1);
        part.name = header_param(value, "name").value_or("");
        if (auto f = header_param(value, "filename")) {
          part.is_file = true;
          part.filename = *f;
        }
      }
      if (nl == std::string_view::npos) break;
      headers.remove_prefix(nl + 2);
    }
    const std::size_t data_start = head_end + 4;
    const auto next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) return std::nullopt;
    part.data = std::string(body.substr(data_start, next - data_start));
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

bool same_origin(std::string_view origin, std::string_view fetch_site, std::string_view host) {
  if (!fetch_site.empty() && fetch_site != "same-origin") return false;
  if (origin.empty()) return true;
  if (host.empty()) return false;
  const std::string h(host);
  return origin == "http://" + h || origin == "https://" + h;
}

std::string pick_language(std::string_view accept_language) {
  double best_q = -1;
  std::string best = "en";
  std::size_t order = 0;
  double best_order = 1e9;
  while (!accept_language.empty()) {
    auto comma = accept_language.find(',');
    auto item = trim(accept_language.substr(0, comma));
    auto semi = item.find(';');
    auto tag = trim(item.substr(0, semi));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      auto params = item.substr(semi + 1);
      auto qpos = params.find("q=");
      if (qpos != std::string_view::npos) q = std::atof(std::string(params.substr(qpos + 2)).c_str());
    }
    auto primary = tag.substr(0, tag.find('-'));
    std::string lang;
    if (iequals(primary, "id") || iequals(primary, "in")) lang = "id";
    else if (iequals(primary, "en")) lang = "en";
    if (!lang.empty() && q > 0 && (q > best_q || (q == best_q && order < best_order))) {
      best_q = q;
      best = lang;
      best_order = static_cast<double>(order);
    }
    ++order;
    if (comma == std::string_view::npos) break;
    accept_language.remove_prefix(comma + 1);
  }
  return best;
}

}  // namespace stockwatch::console

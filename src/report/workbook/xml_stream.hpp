// A hardened, push-based XML parser (expat) for the parts of a workbook.
//
// Contract:
// - XmlStream owns its XML_Parser (move-only) and calls the handler's
//   start/end/text for each element, with names stripped of their prefix
//   ("x:row" -> "row") and attributes as (local name, value) pairs.
// - Hostile input is refused, never expanded: any DOCTYPE (and so any
//   entity declaration, internal or external) stops the parse; expat never
//   resolves external entities; elements nested deeper than `max_depth` stop
//   the parse.
// - A handler stops the parse by calling stop(message); feed() then returns
//   that message as an Error. Errors carry a message for a person.
// - Not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

struct XML_ParserStruct;

namespace stockwatch::workbook {

class XmlHandler {
 public:
  virtual ~XmlHandler() = default;
  // `attrs` is expat's null-terminated list of name/value pairs.
  virtual void start(std::string_view name, const char** attrs) = 0;
  virtual void end(std::string_view name) = 0;
  virtual void text(std::string_view data) = 0;
};

// The value of attribute `local` (prefix ignored), or nullptr.
const char* xml_attr(const char** attrs, std::string_view local);
// A name without its prefix.
std::string_view local_name(std::string_view name);
std::string_view local_name(const char* name);

class XmlStream {
 public:
  XmlStream(XmlHandler& handler, std::size_t max_depth);
  XmlStream(XmlStream&&) noexcept = default;
  XmlStream& operator=(XmlStream&&) noexcept = default;
  XmlStream(const XmlStream&) = delete;
  XmlStream& operator=(const XmlStream&) = delete;
  ~XmlStream();

  [[nodiscard]] Status feed(std::string_view chunk, bool last);
  // Stops the parse from inside a handler; feed() returns this message.
  void stop(std::string message);
  [[nodiscard]] bool stopped() const { return state_->stopped; }

 private:
  struct State {
    XmlHandler* handler = nullptr;
    XML_ParserStruct* parser = nullptr;
    std::size_t depth = 0;
    std::size_t max_depth = 0;
    bool stopped = false;
    std::string message;
  };
  static void on_start(void* data, const char* name, const char** attrs);
  static void on_end(void* data, const char* name);
  static void on_text(void* data, const char* s, int len);
  static void on_doctype(void* data, const char* name, const char* sysid, const char* pubid,
                         int has_internal);
  static void on_entity(void* data, const char* name, int is_param, const char* value, int len,
                        const char* base, const char* sysid, const char* pubid,
                        const char* notation);
  static void halt(State& s, std::string message);

  std::unique_ptr<State> state_;  // stable address for expat's user data
};

}  // namespace stockwatch::workbook

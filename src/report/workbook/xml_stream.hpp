// A hardened, push-based XML parser (libxml2's SAX2 push parser) for the
// parts of a workbook.
//
// Contract:
// - XmlStream owns its parser context (move-only) and calls the handler's
//   start/end/text for each element, with names stripped of their prefix
//   ("x:row" -> "row") and attributes as (local name, value) pairs.
// - Hostile input is refused, never expanded: any DOCTYPE (and so any
//   entity declaration, internal or external) stops the parse; entities are
//   never substituted or loaded and nothing is fetched over a network;
//   elements nested deeper than `max_depth` stop the parse; libxml2's own
//   limits (a text node or a name of absurd length) stay on.
// - libxml2 rather than expat: on a large sheet it parses the same bytes
//   with about a third fewer instructions (bench/workbook_bench.py), and
//   the sheet's XML is most of a workbook report's cost.
// - A handler stops the parse by calling stop(problem); feed() then returns
//   that problem. The stream's own problems (hostile or damaged XML) are
//   WorkbookProblems with their codes (workbook_problem.hpp); libxml2's
//   description of damaged XML is passed on as a value.
// - Not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/workbook/workbook_problem.hpp"

struct _xmlParserCtxt;

namespace stockwatch::workbook {

class XmlHandler {
 public:
  virtual ~XmlHandler() = default;
  // `attrs`: a null-terminated list of name/value pairs (local names).
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

  // nullopt while the XML is well-formed and no handler has stopped it.
  [[nodiscard]] std::optional<WorkbookProblem> feed(std::string_view chunk, bool last);
  // Stops the parse from inside a handler; feed() returns this problem.
  void stop(WorkbookProblem problem);
  [[nodiscard]] bool stopped() const { return state_->stopped; }

 private:
  struct State {
    XmlHandler* handler = nullptr;
    _xmlParserCtxt* parser = nullptr;
    std::size_t depth = 0;
    std::size_t max_depth = 0;
    bool stopped = false;
    std::optional<WorkbookProblem> problem;
    std::vector<const char*> attrs;  // name/value pairs for the handler, null-terminated
    std::string values;              // the attributes' values, each null-terminated
  };
  static void halt(State& s, WorkbookProblem problem);
  friend struct XmlCallbacks;

  std::unique_ptr<State> state_;  // stable address for the parser's user data
};

}  // namespace stockwatch::workbook

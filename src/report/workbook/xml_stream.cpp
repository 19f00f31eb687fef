#include "report/workbook/xml_stream.hpp"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <cstring>
#include <new>
#include <utility>

namespace stockwatch::workbook {

std::string_view local_name(std::string_view name) {
  const std::size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string_view local_name(const char* name) {
  // One pass: the length and the last colon together (no strlen, no rfind).
  const char* local = name;
  const char* p = name;
  for (; *p != '\0'; ++p) {
    if (*p == ':') local = p + 1;
  }
  return std::string_view(local, static_cast<std::size_t>(p - local));
}

const char* xml_attr(const char** attrs, std::string_view local) {
  for (std::size_t i = 0; attrs[i] != nullptr; i += 2) {
    if (local_name(attrs[i]) == local) return attrs[i + 1];
  }
  return nullptr;
}

namespace {
const char* chars(const xmlChar* s) { return reinterpret_cast<const char*>(s); }
}  // namespace

// libxml2's SAX2 callbacks; the user data is the stream's State.
struct XmlCallbacks {
  using State = XmlStream::State;
  static State& state(void* ctx) {
    auto* parser = static_cast<xmlParserCtxtPtr>(ctx);
    return *static_cast<State*>(parser->_private);
  }

  static void start(void* ctx, const xmlChar* local, const xmlChar*, const xmlChar*, int,
                    const xmlChar**, int n_attrs, int, const xmlChar** attrs) {
    State& s = state(ctx);
    if (s.stopped) return;
    if (++s.depth > s.max_depth) {
      XmlStream::halt(s, WorkbookProblem(ProblemCode::kWorkbookXmlTooDeep));
      return;
    }
    // libxml2 gives each attribute as (local name, prefix, URI, value,
    // value end): the values are copied once, null-terminated, for the
    // handler's name/value list.
    s.attrs.clear();
    s.values.clear();
    std::size_t bytes = 0;
    for (int i = 0; i < n_attrs; ++i) {
      bytes += static_cast<std::size_t>(attrs[5 * i + 4] - attrs[5 * i + 3]) + 1;
    }
    s.values.reserve(bytes);  // no reallocation below: the pointers stay valid
    for (int i = 0; i < n_attrs; ++i) {
      const xmlChar* const* a = attrs + 5 * i;
      const std::size_t at = s.values.size();
      s.values.append(chars(a[3]), static_cast<std::size_t>(a[4] - a[3]));
      s.values.push_back('\0');
      s.attrs.push_back(chars(a[0]));
      s.attrs.push_back(s.values.data() + at);
    }
    s.attrs.push_back(nullptr);
    s.handler->start(chars(local), s.attrs.data());
  }

  static void end(void* ctx, const xmlChar* local, const xmlChar*, const xmlChar*) {
    State& s = state(ctx);
    if (s.stopped) return;
    --s.depth;
    s.handler->end(chars(local));
  }

  static void text(void* ctx, const xmlChar* data, int len) {
    State& s = state(ctx);
    if (s.stopped) return;
    s.handler->text(std::string_view(chars(data), static_cast<std::size_t>(len)));
  }

  static void doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
    XmlStream::halt(state(ctx), WorkbookProblem(ProblemCode::kWorkbookXmlDoctype));
  }

  static void entity(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
    XmlStream::halt(state(ctx), WorkbookProblem(ProblemCode::kWorkbookXmlEntities));
  }

  // Unknown entities are never looked up anywhere.
  static xmlEntityPtr no_entity(void*, const xmlChar*) { return nullptr; }
  static xmlParserInputPtr no_input(void*, const xmlChar*, const xmlChar*) { return nullptr; }

  // libxml2's own messages are kept for feed(), never printed.
  static void quiet(void*, const xmlError*) {}
};

XmlStream::XmlStream(XmlHandler& handler, std::size_t max_depth)
    : state_(std::make_unique<State>()) {
  state_->handler = &handler;
  state_->max_depth = max_depth;
  xmlSAXHandler sax;
  std::memset(&sax, 0, sizeof sax);
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = &XmlCallbacks::start;
  sax.endElementNs = &XmlCallbacks::end;
  sax.characters = &XmlCallbacks::text;
  sax.cdataBlock = &XmlCallbacks::text;
  sax.ignorableWhitespace = &XmlCallbacks::text;
  sax.internalSubset = &XmlCallbacks::doctype;
  sax.externalSubset = &XmlCallbacks::doctype;
  sax.entityDecl = &XmlCallbacks::entity;
  sax.getEntity = &XmlCallbacks::no_entity;
  sax.getParameterEntity = &XmlCallbacks::no_entity;
  sax.resolveEntity = &XmlCallbacks::no_input;
  sax.serror = reinterpret_cast<xmlStructuredErrorFunc>(&XmlCallbacks::quiet);
  xmlParserCtxtPtr p = xmlCreatePushParserCtxt(&sax, nullptr, nullptr, 0, nullptr);
  if (p == nullptr) throw std::bad_alloc();
  p->_private = state_.get();
  // No network, no entity substitution, no DTD loading or defaults.
  (void)xmlCtxtUseOptions(p, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  state_->parser = p;
}

XmlStream::~XmlStream() {
  if (state_ && state_->parser != nullptr) xmlFreeParserCtxt(state_->parser);
}

void XmlStream::halt(State& s, WorkbookProblem problem) {
  if (s.stopped) return;
  s.stopped = true;
  s.problem = std::move(problem);
  xmlStopParser(s.parser);
}

void XmlStream::stop(WorkbookProblem problem) { halt(*state_, std::move(problem)); }

std::optional<WorkbookProblem> XmlStream::feed(std::string_view chunk, bool last) {
  State& s = *state_;
  if (s.stopped) return s.problem;
  while (!chunk.empty() || last) {
    const std::size_t n = std::min<std::size_t>(chunk.size(), INT_MAX / 2);
    const bool final_piece = last && n == chunk.size();
    const int st = xmlParseChunk(s.parser, chunk.data(), static_cast<int>(n), final_piece ? 1 : 0);
    if (s.stopped) return s.problem;
    if (st != XML_ERR_OK || !s.parser->wellFormed) {
      const xmlError* e = xmlCtxtGetLastError(s.parser);
      std::string what = e != nullptr && e->message != nullptr ? e->message : "not well-formed";
      while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
      const int line = e != nullptr ? e->line : 0;
      return WorkbookProblem(ProblemCode::kWorkbookXmlDamaged,
                             {{"detail", std::move(what)}, {"line", std::to_string(line)}});
    }
    chunk.remove_prefix(n);
    if (final_piece) break;
  }
  return std::nullopt;
}

}  // namespace stockwatch::workbook

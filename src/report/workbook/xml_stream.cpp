#include "report/workbook/xml_stream.hpp"

#include <expat.h>

#include <climits>
#include <cstring>
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

XmlStream::XmlStream(XmlHandler& handler, std::size_t max_depth)
    : state_(std::make_unique<State>()) {
  state_->handler = &handler;
  state_->max_depth = max_depth;
  XML_Parser p = XML_ParserCreate("UTF-8");
  if (p == nullptr) throw std::bad_alloc();
  state_->parser = p;
  XML_SetUserData(p, state_.get());
  XML_SetElementHandler(p, &XmlStream::on_start, &XmlStream::on_end);
  XML_SetCharacterDataHandler(p, &XmlStream::on_text);
  XML_SetStartDoctypeDeclHandler(p, &XmlStream::on_doctype);
  XML_SetEntityDeclHandler(p, &XmlStream::on_entity);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
}

XmlStream::~XmlStream() {
  if (state_ && state_->parser != nullptr) XML_ParserFree(state_->parser);
}

void XmlStream::halt(State& s, std::string message) {
  if (s.stopped) return;
  s.stopped = true;
  s.message = std::move(message);
  XML_StopParser(s.parser, XML_FALSE);
}

void XmlStream::stop(std::string message) { halt(*state_, std::move(message)); }

void XmlStream::on_start(void* data, const char* name, const char** attrs) {
  auto& s = *static_cast<State*>(data);
  if (s.stopped) return;
  if (++s.depth > s.max_depth) {
    halt(s, "the workbook's XML is nested too deeply; save it again from the spreadsheet program");
    return;
  }
  s.handler->start(local_name(name), attrs);
}

void XmlStream::on_end(void* data, const char* name) {
  auto& s = *static_cast<State*>(data);
  if (s.stopped) return;
  --s.depth;
  s.handler->end(local_name(name));
}

void XmlStream::on_text(void* data, const char* text, int len) {
  auto& s = *static_cast<State*>(data);
  if (s.stopped) return;
  s.handler->text(std::string_view(text, static_cast<std::size_t>(len)));
}

void XmlStream::on_doctype(void* data, const char*, const char*, const char*, int) {
  halt(*static_cast<State*>(data),
       "the workbook's XML declares a document type (entities), which a workbook never "
       "needs; save it again from the spreadsheet program");
}

void XmlStream::on_entity(void* data, const char*, int, const char*, int, const char*,
                          const char*, const char*, const char*) {
  halt(*static_cast<State*>(data),
       "the workbook's XML declares entities, which a workbook never needs; save it again "
       "from the spreadsheet program");
}

Status XmlStream::feed(std::string_view chunk, bool last) {
  State& s = *state_;
  if (s.stopped) return Error(ErrorCode::kInvalidInput, s.message);
  while (!chunk.empty() || last) {
    const std::size_t n = std::min<std::size_t>(chunk.size(), INT_MAX / 2);
    const bool final_piece = last && n == chunk.size();
    const XML_Status st = XML_Parse(s.parser, chunk.data(), static_cast<int>(n),
                                    final_piece ? XML_TRUE : XML_FALSE);
    if (s.stopped) return Error(ErrorCode::kInvalidInput, s.message);
    if (st != XML_STATUS_OK) {
      return Error(ErrorCode::kInvalidInput,
                   std::string("the workbook's XML is damaged (") +
                       XML_ErrorString(XML_GetErrorCode(s.parser)) + " at line " +
                       std::to_string(XML_GetCurrentLineNumber(s.parser)) +
                       "); save it again from the spreadsheet program");
    }
    chunk.remove_prefix(n);
    if (final_piece) break;
  }
  return Status::ok_status();
}

}  // namespace stockwatch::workbook

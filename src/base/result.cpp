#include "base/result.hpp"

#include <cerrno>
#include <cstring>

namespace stockwatch {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidInput: return "invalid input";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kPermission: return "permission denied";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kTransient: return "temporary failure";
    case ErrorCode::kPermanent: return "permanent failure";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown";
}

Error errno_error(const std::string& what, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::kNotFound;
  else if (err == EACCES || err == EPERM) code = ErrorCode::kPermission;
  return Error(code, what + ": " + std::strerror(err));
}

Error errno_error(const std::string& what) { return errno_error(what, errno); }

}  // namespace stockwatch

// Arrivals: how the reports this process placed in the inbox arrived, noted
// until the report is handled, so its ledger entry can say (folder, S3,
// browser, email).
//
// Contract:
// - expect(relative, by) is called just before a report is renamed into
//   the inbox under `relative` (so the inbox can never hand it out before
//   the note exists); forget(relative) when that placing failed, or once the
//   report was handled for good.
// - of(relative) is the note, or "folder" for a report nobody placed (put in
//   the inbox by some other program, or placed by another node of a shared
//   inbox). The note stays until forget(): a report tried again says the
//   same.
// - Owns nothing but its notes (a few bytes per report waiting in the
//   inbox). Thread-safe: the HTTP thread and the mailbox thread note, the
//   loading thread reads.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace stockwatch {

class Arrivals {
 public:
  // The values of ReportRecord::arrived_by.
  static constexpr const char* kFolder = "folder";
  static constexpr const char* kS3 = "s3";
  static constexpr const char* kBrowser = "browser";
  static constexpr const char* kEmail = "email";

  void expect(const std::string& relative, std::string by);
  void forget(const std::string& relative);
  [[nodiscard]] std::string of(const std::string& relative) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> by_;   // relative -> how it arrived
};

}  // namespace stockwatch

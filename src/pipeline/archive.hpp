// Archiving a handled report out of the inbox.
//
// Contract: never overwrites. The report keeps its path relative to the
// inbox under the archive folder; when that name is taken, a numbered
// suffix is added (`2026-11.csv` -> `2026-11.1.csv`). A rejected report gets
// a `<archived name>.error.txt` beside it. With mode "delete" the report is
// removed instead (its error text is still written to the failed folder).
//
// Confinement: the report is reached only through its folder, opened
// beneath the inbox root without following a symbolic link at any step
// (os/beneath). When that folder is no longer beneath the inbox (it was
// swapped for a link meanwhile), nothing is moved, copied or removed and
// the result is an Error with kInvalidInput. The name is removed from the
// inbox through a private hidden name in the same folder, so a new report
// renamed onto the name meanwhile is never deleted unread.
// Blocking file I/O; safe from any one thread at a time per file.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace stockwatch {

struct ArchiveOptions {
  std::filesystem::path inbox;   // the inbox root; empty = `file` minus `relative`
  std::filesystem::path processed;
  std::filesystem::path failed;
  bool delete_reports = false;   // inbox.archive = "delete"
};

// Moves `file` to `<processed or failed>/<relative>`; returns where it went
// (empty when deleted). `error_text` non-empty = rejected: goes to failed/
// with an error file.
//
// `read_fd`, when given, is the descriptor the report was read from: the
// archive then keeps exactly what was read (a hard link to that file, or a
// copy of it when it was removed from the inbox meanwhile or lives on
// another filesystem), never what the name points to now. The name is
// removed from the inbox only while it still is that file, or a symbolic
// link; a new file put under the same name meanwhile stays for the next
// scan. Without `read_fd` (a report rejected unread) the entry itself is
// archived, a symbolic link as the link.
//
// `placed`, when given, is called once the report is in the archive and
// before its name leaves the inbox, with where it went (not called in
// delete mode): the caller notes it in the ledger there, so that a crash
// at any later moment leaves a ledger that names the archived copy, and a
// report still in the inbox that the loader recognises as that copy
// (Loader: a report archived as this very file is resumed, not loaded or
// counted as a duplicate).
// archive_report() in two steps, for a caller that notes several reports
// in the ledger in one commit before any of their names leaves the inbox:
// place_report() does everything but the removal (the copy, the error
// file, the delete mode's error file) and returns where the report went;
// leave_inbox() on the result removes the name, as archive_report() does
// last. A ArchivedCopy dropped without leave_inbox() leaves the name in the
// inbox, where the loader recognises it as handled at the next look.
// Move-only; holds the report's folder open until then.
class ArchivedCopy {
 public:
  struct State;  // opaque; defined in archive.cpp
  explicit ArchivedCopy(std::unique_ptr<State> state);
  ArchivedCopy(ArchivedCopy&&) noexcept;
  ArchivedCopy& operator=(ArchivedCopy&&) noexcept;
  ArchivedCopy(const ArchivedCopy&) = delete;
  ArchivedCopy& operator=(const ArchivedCopy&) = delete;
  ~ArchivedCopy();

  // Where the report went; empty in delete mode.
  [[nodiscard]] const std::filesystem::path& where() const;
  // Removes the report's name from the inbox (once; later calls do nothing).
  [[nodiscard]] Status leave_inbox();

 private:
  std::unique_ptr<State> state_;
};

[[nodiscard]] Result<ArchivedCopy> place_report(const ArchiveOptions& options,
                                                const std::filesystem::path& file,
                                                const std::filesystem::path& relative,
                                                bool rejected, const std::string& error_text,
                                                int read_fd = -1);

[[nodiscard]] Result<std::filesystem::path> archive_report(
    const ArchiveOptions& options, const std::filesystem::path& file,
    const std::filesystem::path& relative, bool rejected, const std::string& error_text,
    int read_fd = -1,
    const std::function<void(const std::filesystem::path& placed)>& placed = {});

}  // namespace stockwatch

// The daemon's log: spdlog on standard error, in the journal's format when
// standard error is the journal.
//
// Contract: setup_logging() (re)configures the default logger "stockwatch";
// call it from the main thread before other threads log. Both functions
// never throw for a bad environment.
#pragma once

#include <string>

namespace stockwatch {

// Sets up spdlog: stderr, the given level ("info", ...). When standard
// error is the journal's stream (JOURNAL_STREAM names its device and inode),
// lines carry a syslog priority prefix ("<6>") instead of a timestamp.
void setup_logging(const std::string& level);

// From now on every line carries `node` ("[node-a] message"); empty: none.
// Call it from the main thread before other threads log.
void set_log_node(const std::string& node);

// Whether JOURNAL_STREAM ("DEVICE:INODE", set by systemd) names the file
// that `fd` is open on, as systemd.exec(5) recommends checking: a variable
// inherited by a process whose output goes elsewhere does not count.
bool is_journal_stream(const char* journal_stream, int fd);

}  // namespace stockwatch

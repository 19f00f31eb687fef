// The console's only script, /_console/console.js: it improves the Upload
// page and nothing else needs it (every page works without it).
//
// Contract:
// - Served by the daemon itself (never fetched from elsewhere) under the
//   console's Content-Security-Policy (script-src 'self', no inline
//   script, connect-src 'self').
// - On the Upload page (the form marked data-upload) it shows a drop zone
//   for one or more files and sends the same multipart POST as the form,
//   with a progress bar while the bytes go up and a "waiting for the
//   loader" line after; the answer (the outcome page) replaces the page.
//   The texts it shows come from the form's data- attributes, in the
//   reader's language. Without it the plain form posts as before.
// - A constant; any thread.
#pragma once

#include <string_view>

namespace stockwatch::console {

[[nodiscard]] std::string_view console_script();

}  // namespace stockwatch::console

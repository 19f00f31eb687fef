#include "text/catalog.hpp"

namespace stockwatch {

namespace {

// English: the texts stockwatch 0.1 wrote, byte for byte.
constexpr CatalogEntry kEnglish[] = {
    // Forecasts in the console (http/console/forecast_pages.hpp).
    {"console.item.title", "{item} in {store}"},
    {"console.item.unknown", "No report has listed this item for this store."},
    {"console.item.no_history", "No history yet."},
    {"console.item.chart_title", "Count of {item} in {store} at each report, and the predicted run-out date"},
    {"console.item.runs_out_on", "Predicted to run out on {date}"},
    {"console.item.point", "{date}: {count} (report {id})"},
    {"console.item.daily_use", "Daily use"},
    {"console.item.days_of_cover", "Days of cover"},
    {"console.item.runs_out", "Runs out"},
    {"console.item.never", "not at the current use"},
    {"console.item.not_enough", "not enough history"},
    {"console.item.method",
     "Daily use is the fall in the count between reports divided by the days between them; a "
     "rise (a delivery) and a fall to 0 are left out. Each point links to its report."},
    {"console.overview.running_out", "Running out soon"},
    {"console.overview.none_running_out", "Nothing is predicted to run out soon."},
    {"console.overview.transfers", "Suggested transfers"},
    {"console.overview.none_transfers", "No transfers to suggest."},
    {"console.transfer.line", "Move {quantity} {item} from {from} (has {has}) to {to}"},
    {"console.inventory.sort", "Sort by"},
    {"console.inventory.sort_name", "store and item"},
    {"console.inventory.sort_cover", "days of cover"},
    {"console.inventory.sort_item", "item"},
    {"console.inventory.sort_count", "count, lowest first"},
    {"console.inventory.sort_changed", "last change, newest first"},
    // Alerts (notify/message.cpp).
    {"alert.out_of_stock.sentence", "{store} is out of stock of {item}"},
    {"alert.back_in_stock.sentence", "{store} has {item} back in stock ({count})"},
    {"alert.out_of_stock.state", "out of stock"},
    {"alert.back_in_stock.state", "back in stock"},
    {"alert.low_stock.sentence", "{store} is low on {item}: {count} left, minimum {minimum}"},
    {"alert.low_stock.state", "below minimum"},
    {"alert.still_out.sentence", "{store} is still out of stock of {item}"},
    {"alert.still_out.state", "still out of stock"},
    {"alert.still_out.footer",
     "A reminder every {days} days while an item stays at 0 ([alerts] still_out_every_days). "
     "To stop it for one item until its count changes: stockwatch mute --store STORE --item "
     "ITEM --until-change"},
    {"alert.levels_footer", "Levels file: {path} (report {id}), loaded {time}"},
    {"rejected.levels_subject", "Levels file rejected: {path}"},
    {"rejected.levels_body",
     "The levels file {path} was rejected and nothing of it was used: the minimum levels "
     "before it stay in force.\n\n"
     "Problems found:\n{problems}\n\n"
     "Fix the file and deliver it again.\n"
     "\nLevels file: {path} (report {id}), received {time}\n"},
    {"alert.running_out.sentence",
     "{store} will run out of {item} around {date}: {count} left, using about {rate} a day"},
    {"alert.running_out.state", "running out soon"},
    {"alert.transfer.sentence",
     "  Suggestion: move {quantity} {item} from {from} (it has {has}) to {store}"},
    {"alert.summary.item", "{store}: {item} is {state}"},
    {"alert.summary.store", "{store}: {total} items {state}"},
    {"alert.summary.stores", "{stores} stores, {total} items {state}"},
    {"alert.summary.over_stores", "over {stores} stores, {total} items {state}"},
    {"alert.summary.first_listed", " (first {listed} listed)"},
    {"alert.more_items",
     "... and {more} more item(s) {state} in this report for your subscription, not listed "
     "here (this message lists the first {listed} of {total}); the inventory table has them "
     "all"},
    {"alert.footer", "Report: {path} (report {id}), loaded {time}"},
    {"alert.time", "%Y-%m-%d %H:%M:%S UTC"},
    {"rejected.subject", "Report rejected: {path}"},
    {"rejected.body",
     "The report {path} was rejected and nothing of it was loaded.\n"
     "Until a corrected report arrives, nobody is watching this stock.\n\n"
     "Problems found:\n{problems}\n\n"
     "Fix the report and deliver it again.\n"
     "\nReport: {path} (report {id}), received {time}\n"},

    // Alerts in other channels and formats (notify/alert.hpp): the HTML
    // part of an email, the number format.
    {"number.group", ","},
    {"alert.subject", "Inventory Alert!"},
    {"alert.html.store", "Store"},
    {"alert.html.item", "Item"},
    {"alert.html.count", "Count"},
    {"alert.html.minimum", "Minimum"},
    {"alert.html.previous", "Previous count"},
    {"alert.html.report", "Last report"},
    {"alert.html.report_cell", "{path} (report {id}), {time}"},
    {"alert.html.none", "\u2013"},
    {"alert.html.new_item", "new"},
    {"rejected.html.problems", "Problems found"},
    {"test.subject", "Test message"},

    // Report problems (report/report_problem.hpp).
    {"problem.at_line", "line {line}: {message}"},
    {"problem.at_line_column", "line {line}, column {column}: {message}"},
    {"problem.at_cell", "sheet \"{sheet}\", cell {cell}: {message}"},
    {"problem.at_sheet_row", "sheet \"{sheet}\", row {row}: {message}"},
    {"problem.more#one", "... and {n} more problem"},
    {"problem.more#other", "... and {n} more problems"},
    {"problem.unclosed_quote", "a quoted field starting here is never closed; check the quotes"},
    {"problem.empty_report", "the report is empty"},
    {"problem.header_without_rows", "the report has a header but no rows"},
    {"problem.line_too_long", "the line is longer than {limit} bytes"},
    {"problem.binary_data", "the file contains binary data (a NUL byte); it is not a CSV report"},
    {"problem.not_utf8", "the file is not valid UTF-8; save it as \"CSV UTF-8\""},
    {"problem.missing_column",
     "the header has no {role} column (found: {found}); name it one of: {names}"},
    {"problem.missing_column_no_names",
     "the header has no {role} column (found: no column names); name it one of: {names}"},
    {"problem.duplicate_column",
     "the header has two {role} columns: '{first}' (column {first_column}) and '{second}' "
     "(column {second_column}); keep only one"},
    {"problem.empty_name", "the {role} is empty"},
    {"problem.control_character", "the {role} contains a control character ({character}); remove it"},
    {"character.U+000A", "line break"},
    {"character.U+000D", "line break"},
    {"character.U+0009", "tab"},
    {"character.U+007F", "delete, U+007F"},
    {"problem.name_too_long", "the {role} is {length} bytes long; the limit is {limit}"},
    {"problem.too_few_columns#one", "the row has {n} column but the header needs {needed}"},
    {"problem.too_few_columns#other", "the row has {n} columns but the header needs {needed}"},
    {"problem.extra_values",
     "the row has {columns} columns but the header has {header_columns}; write numbers without "
     "separators (1000, not 1{delimiter}000) and put names that contain '{delimiter}' in quotes"},
    {"problem.extra_values_tab",
     "the row has {columns} columns but the header has {header_columns}; write numbers without "
     "separators (1000, not 1,000) and put names that contain a tab in quotes"},
    {"problem.count_empty", "the count is empty; write 0 if the item is out of stock"},
    {"problem.count_too_large", "'{found}' is larger than the maximum count {max}"},
    {"problem.count_negative", "'{found}' is negative; a count is 0 or more"},
    {"problem.count_not_whole", "'{found}' is not a whole number"},
    {"problem.count_not_whole_write", "'{found}' is not a whole number; write {write}"},
    {"problem.count_fraction", "'{found}' is not a whole number; counts are whole units"},
    {"problem.minimum_empty", "the minimum is empty; write a whole number, 0 or more"},
    {"problem.minimum_invalid", "'{found}' is not a minimum; write a whole number, 0 or more"},
    {"problem.duplicate_level",
     "store '{store}' and item '{item}' already have a minimum on line {first_line}; keep one "
     "line for them"},
    {"problem.date_empty", "the date is empty; write the day the items were counted, e.g. 2026-11-30"},
    {"problem.date_invalid",
     "'{found}' is not a date; write it as 2026-11-30 (or 30/11/2026, or 2026-11 for the end of "
     "the month)"},
    {"problem.date_differs",
     "the date {found} differs from {first} on line {first_line}; a report holds the counts of "
     "one day, so send each day's counts as a report of its own"},
    {"problem.duplicate_row",
     "store '{store}' and item '{item}' are already on line {first_line}; list each item once"},
    // A workbook's problems (report/workbook/workbook_problem.hpp).
    {"problem.at_sheet",
     "sheet \"{sheet}\": {message}"},
    {"problem.count_is_date",
     "the count is a date ({found}); format the count column as a number, not a date"},
    {"problem.merged_cells",
     "the cells {first}:{last} are merged; unmerge them and write the value in each cell"},
    {"problem.workbook_cannot_open",
     "the workbook cannot be opened"},
    {"problem.workbook_cannot_read",
     "the workbook cannot be read: {reason}"},
    {"problem.workbook_not_zip",
     "the workbook cannot be opened as a zip archive: {reason}"},
    {"problem.workbook_damaged_entry",
     "the workbook is damaged (an unreadable entry)"},
    {"problem.workbook_damaged_row_order",
     "the workbook is damaged (row numbers out of order)"},
    {"problem.workbook_damaged_cell_order",
     "the workbook is damaged (cells out of order)"},
    {"problem.workbook_damaged_no_part",
     "the workbook is damaged (the sheet has no part)"},
    {"problem.workbook_damaged_text",
     "the workbook is damaged (the cell names a text that is not there)"},
    {"problem.workbook_damaged_cell_ref",
     "the workbook is damaged (cell reference {ref})"},
    {"problem.workbook_damaged_number",
     "the workbook is damaged (the number '{found}')"},
    {"problem.workbook_damaged",
     "the workbook is damaged ({detail})"},
    {"problem.workbook_zip_bomb",
     "the workbook unpacks to far more than its size ({part}), as a zip bomb does; save it again from the spreadsheet program"},
    {"problem.workbook_outside_entry",
     "the workbook holds an entry named outside the archive; save it again from the spreadsheet program"},
    {"problem.workbook_password",
     "the workbook is protected with a password; save it without one"},
    {"problem.workbook_no_sheet",
     "the workbook has no sheet"},
    {"problem.workbook_missing_part",
     "the workbook has no {part}"},
    {"problem.workbook_part_too_large",
     "the workbook's {part} is too large"},
    {"problem.workbook_xml_too_deep",
     "the workbook's XML is nested too deeply; save it again from the spreadsheet program"},
    {"problem.workbook_xml_doctype",
     "the workbook's XML declares a document type (entities), which a workbook never needs; save it again from the spreadsheet program"},
    {"problem.workbook_xml_entities",
     "the workbook's XML declares entities, which a workbook never needs; save it again from the spreadsheet program"},
    {"problem.workbook_xml_damaged",
     "the workbook's XML is damaged ({detail} at line {line}); save it again from the spreadsheet program"},
    {"problem.workbook_too_many_sheets",
     "the workbook has too many sheets"},
    {"problem.workbook_too_many_parts",
     "the workbook has too many parts"},
    {"problem.workbook_too_many_texts",
     "the workbook has more than {limit} different texts (shared strings), more than a stock report needs; remove the unused sheets or raise the limit in the settings"},
    {"problem.workbook_texts_too_large",
     "the workbook's texts (shared strings) take more than {limit} bytes; remove the unused sheets or raise the limit in the settings"},
    {"problem.workbook_text_too_long",
     "a text in the workbook is longer than {limit} bytes"},
    {"problem.workbook_too_many_styles",
     "the workbook has too many cell styles"},
    {"problem.workbook_too_many_rows",
     "the sheet has more rows than a spreadsheet allows"},
    {"problem.cell_too_large",
     "the cell holds more than {limit} bytes"},
    {"problem.formula_no_value",
     "the formula has no saved value; open the file in the spreadsheet program and save it again"},
    {"problem.cell_error",
     "the cell shows the error {error}; correct the formula and save again"},
    {"problem.cell_repeated",
     "the cell is repeated {times} times across the row; delete the copies"},
    {"problem.row_repeated",
     "the row is repeated {times} times; delete the copies"},
    {"problem.file_xls",
     "the file is an old Excel workbook (.xls); save it as .xlsx or CSV"},
    {"problem.file_text",
     "the file is text, not a workbook; if it is CSV, name it .csv"},
    {"problem.file_not_workbook",
     "the file is not a workbook; save it as .xlsx, .ods or CSV"},
    {"problem.zip_not_workbook",
     "the file is a zip archive but not a workbook; save it as .xlsx, .ods or CSV"},
    {"problem.csv_is_workbook",
     "the file is a workbook (or another zip archive), not CSV; if it is a workbook, name it .xlsx (Excel) or .ods (LibreOffice), or save it as CSV"},
    {"problem.csv_is_xls",
     "the file is an old Excel workbook (.xls), not CSV; save it as .xlsx or CSV"},

    // The stock-count template (report/template/template_writer.hpp). The
    // headers must stay names the report parser accepts (HeaderAliases),
    // except the last count's, which it must not accept.
    {"template.header.store", "Store"},
    {"template.header.item", "Item"},
    {"template.header.last_count", "Last count"},
    {"template.header.count", "Count"},
    {"template.sheet", "Stock"},
    {"template.note.last_count",
     "For reference only: the count stockwatch holds now, from the last report. This column is "
     "not read back; write the new count in the column \"{count}\"."},
    {"template.note.count",
     "Write the count of each item: a whole number, 0 if the item is out of stock. For an item "
     "that is not listed, add a row with the store, the item and its count."},
    {"template.validation.title", "Count"},
    {"template.validation.message",
     "The count is a whole number, 0 or more: write 0 if the item is out of stock."},
    {"template.mail.subject", "Stock-count sheet for {store}"},
    {"template.mail.items#one", "{n} item"},
    {"template.mail.items#other", "{n} items"},
    {"template.mail.body",
     "Attached is the stock-count sheet of {store}: {items}, with the counts stockwatch "
     "held on {time}.\n\n"
     "Fill in the column \"{count}\" with the count of each item (0 when an item is out of "
     "stock). The column \"{last_count}\" is there for reference and is not read. For an item "
     "that is not listed, add a row. Keep the header row as it is.\n\n"
     "Save the workbook as .xlsx and deliver it as the store's report, the way a CSV report is "
     "delivered.\n"},
    // The web console (http/console/).
    {"console.title", "stockwatch"},
    {"console.skip", "Skip to the content"},
    {"console.nav.overview", "Overview"},
    {"console.nav.upload", "Upload"},
    {"console.nav.reports", "Reports"},
    {"console.nav.inventory", "Inventory"},
    {"console.nav.main", "Main"},
    {"console.signed_in_as", "Signed in as {name} ({role})"},
    {"console.role.owner", "owner"},
    {"console.role.manager", "manager of {stores}"},
    {"console.sign_out", "Sign out"},
    {"console.language", "Language"},
    {"console.language.switch", "Bahasa Indonesia"},
    {"console.sign_in.title", "Sign in"},
    {"console.sign_in.name", "Name"},
    {"console.sign_in.password", "Password"},
    {"console.sign_in.submit", "Sign in"},
    {"console.sign_in.failed", "The name or the password is wrong."},
    {"console.sign_in.slow_down", "Too many failed sign-ins. Wait {seconds} seconds, then try again."},
    {"console.sign_in.no_owner",
     "No owner account exists yet. The daemon's log holds a one-time setup link (\"console: no owner "
     "yet\"); or run: stockwatch user add NAME --role owner"},
    {"console.signed_out", "You are signed out."},
    {"console.expired", "Your session ended. Sign in again."},
    {"console.setup.title", "Create the owner account"},
    {"console.setup.intro", "This link works once. The owner may do everything, and can add the managers later with the stockwatch user command."},
    {"console.setup.password2", "Password again"},
    {"console.setup.submit", "Create the owner"},
    {"console.setup.invalid", "This setup link is used up, expired, or an owner exists already. Restart the daemon for a new link while no owner exists, or run: stockwatch user add NAME --role owner"},
    {"console.setup.mismatch", "The two passwords differ."},
    {"console.setup.short", "The password needs at least {n} characters."},
    {"console.setup.bad_name", "The name needs 1 to 64 letters, digits, '.', '-' or '_'."},
    {"console.overview.title", "Overview"},
    {"console.overview.stores#one", "{n} store"},
    {"console.overview.stores#other", "{n} stores"},
    {"console.overview.out_total#one", "{n} item out of stock"},
    {"console.overview.out_total#other", "{n} items out of stock"},
    {"console.overview.quiet_total#one", "{n} store not reporting"},
    {"console.overview.quiet_total#other", "{n} stores not reporting"},
    {"console.overview.store", "Store"},
    {"console.overview.last_report", "Last report"},
    {"console.overview.out", "Out of stock"},
    {"console.overview.quiet", "no report for over {days} days"},
    {"console.overview.never", "none yet"},
    {"console.overview.empty", "No report has been loaded yet. Upload one to begin."},
    {"console.overview.out_items", "Out of stock now"},
    {"console.overview.item", "Item"},
    {"console.overview.since", "Since"},
    {"console.overview.more", "Only the first {n} are listed."},
    {"console.overview.none_out", "Nothing is out of stock."},
    {"console.overview.sheet", "This month's sheet"},
    {"console.overview.sheet_link", "Download (.xlsx)"},
    {"console.overview.sheet_for", "Download this month's count sheet for {store}"},
    {"console.upload.title", "Upload reports"},
    {"console.upload.files", "Report files (CSV, Excel, LibreOffice)"},
    {"console.upload.hint", "One or more reports with the columns store, item, count: CSV files (.csv) or workbooks (.xlsx from Excel, .ods from LibreOffice). Each is loaded exactly once; a file sent again is recognised as a duplicate."},
    {"console.upload.submit", "Upload"},
    {"console.upload.results", "Results"},
    {"console.upload.loaded", "Loaded: {rows} rows, {changes} changed (report {id})."},
    {"console.upload.duplicate", "Already loaded: this file is a duplicate of report {id}; nothing changed."},
    {"console.upload.rejected", "Rejected (report {id}); nothing of it was loaded. Fix these problems and upload it again:"},
    {"console.upload.waiting", "Placed in the inbox, but not loaded within {seconds} seconds. Its outcome will appear under Reports."},
    {"console.upload.no_files", "Choose at least one file."},
    {"console.upload.not_csv", "{file}: stockwatch reads reports as CSV files (.csv) or workbooks (.xlsx, .ods). Save the sheet as one of these (\"CSV UTF-8\" or \"Excel Workbook\") and upload that."},
    {"console.upload.foreign_store", "{file}: line {line} is for the store {store}, but your account may upload reports for {stores} only. Nothing of this file was loaded."},
    {"console.upload.too_large", "The files are larger than {limit} together. Upload fewer at a time, or put large reports in the inbox folder."},
    {"console.upload.failed", "{file}: could not be placed in the inbox: {error}"},
    {"console.reports.title", "Reports"},
    {"console.reports.id", "Report"},
    {"console.reports.file", "File"},
    {"console.reports.status", "Status"},
    {"console.reports.rows", "Rows"},
    {"console.reports.changes", "Changes"},
    {"console.reports.received", "Received"},
    {"console.reports.older", "Older reports"},
    {"console.reports.none", "No reports yet."},
    {"console.reports.problems", "Problems"},
    {"console.reports.download", "Download the original"},
    {"console.reports.duplicate_of", "duplicate of report {id}"},
    {"console.reports.gone", "The original file is no longer kept (inbox.archive = \"delete\", or it was removed)."},
    {"console.reports.by_email_from", "by email from {sender}"},
    {"console.reports.by_email", "Sent by email"},
    {"console.reports.arrived_by", "Arrived by"},
    {"console.arrived.folder", "inbox folder"},
    {"console.arrived.s3", "S3 upload"},
    {"console.arrived.browser", "browser upload"},
    {"console.arrived.email", "email"},
    {"console.arrived.unknown", "not recorded"},
    {"console.overview.arrived", "by {how}"},
    {"console.reports.sender", "From"},
    {"console.reports.attachment", "Attachment"},
    {"console.reports.message_id", "Message-ID"},
    {"console.status.loaded", "loaded"},
    {"console.status.rejected", "rejected"},
    {"console.status.duplicate", "duplicate"},
    {"console.not_found.title", "Not found"},
    {"console.not_found.text", "There is nothing here, or it is not yours to see."},
    {"console.back", "Back to the overview"},
    {"console.refused.title", "Refused"},
    {"console.refused.cross_site", "This form was sent from another site, or it is too old. Go back, reload the page and try again."},
    {"console.error", "Something went wrong on the server: {error}"},
    {"console.nav.alerts", "Alerts"},
    {"console.nav.status", "Status"},
    {"console.alerts.title", "Alerts"},
    {"console.alerts.all", "All"},
    {"console.alerts.id", "Message"},
    {"console.alerts.created", "Queued"},
    {"console.alerts.what", "What"},
    {"console.alerts.to", "To"},
    {"console.alerts.state", "State"},
    {"console.alerts.attempts", "Attempts"},
    {"console.alerts.error", "Last error"},
    {"console.alerts.retry", "Send again"},
    {"console.alerts.retried", "Message {id} is queued again; it is sent within 30 seconds."},
    {"console.alerts.not_dead", "Message {id} is not a message that was given up on."},
    {"console.alerts.none", "No alert messages."},
    {"console.alerts.older", "Older messages"},
    {"console.upload.drop", "Drop report files here, or choose them below."},
    {"console.upload.sending", "Sending: {percent}%"},
    {"console.upload.loading", "Sent. Waiting for stockwatch to load the reports…"},
    {"console.upload.send_failed", "The upload did not get through (the connection broke, or the files are too large). Try again, or upload fewer files at a time."},
    {"console.upload.alerts", "Alerts it raised:"},
    {"console.upload.no_alerts", "It raised no alerts."},
    {"console.upload.more_alerts", "…and more: see the report and the Alerts page."},
    {"console.message.title", "Message {id}"},
    {"console.message.open", "(open)"},
    {"console.message.channel", "Channel"},
    {"console.message.subject", "Subject"},
    {"console.message.report", "Report"},
    {"console.message.file", "Attached file"},
    {"console.message.body", "The message"},
    {"console.message.note", "Exactly as it was sent: every attempt renders the message the same way from what was stored when it was queued."},
    {"console.message.unreadable", "This message cannot be shown: {error}"},
    {"console.message.back", "Back to the alerts"},
    {"console.state.queued", "queued"},
    {"console.state.sent", "sent"},
    {"console.state.dead", "given up"},
    {"console.status.title", "Status"},
    {"console.status.ready", "stockwatch is working."},
    {"console.status.not_ready", "stockwatch is not ready: see below."},
    {"console.status.database", "Database"},
    {"console.status.database_ok", "reachable"},
    {"console.status.inbox", "Inbox"},
    {"console.status.inbox_ok", "watched ({mode}): {path}"},
    {"console.status.inbox_bad", "not watched: {path}"},
    {"console.status.mail", "Mail"},
    {"console.status.mail_via", "leaves via {via}"},
    {"console.status.mail_idle", "nothing sent since the start"},
    {"console.status.mail_ok", "last delivery worked ({time}): {result}"},
    {"console.status.mail_bad", "last delivery failed ({time}): {result}"},
    {"console.status.mailbox", "Reports by email"},
    {"console.status.mailbox_via", "reads {via}"},
    {"console.status.mailbox_starting", "first look not done yet"},
    {"console.status.mailbox_idle", "last look worked ({time}); new mail is seen at once (IMAP IDLE)"},
    {"console.status.mailbox_poll", "last look worked ({time}); the server has no IDLE, so it looks every mailbox.poll_interval_s"},
    {"console.status.mailbox_bad", "the last look failed: {error}"},
    {"console.status.outbox", "Outbox"},
    {"console.status.outbox_counts", "{queued} waiting, {dead} given up"},
    {"console.status.failures", "Failed sign-ins"},
    {"console.status.no_failures", "No failed sign-ins."},
    {"console.status.name", "Name tried"},
    {"console.status.address", "From"},
    {"console.status.when", "When"},
    {"console.inventory.title", "Inventory"},
    {"console.inventory.store", "Store"},
    {"console.inventory.all_stores", "All stores"},
    {"console.inventory.out_only", "Out of stock only"},
    {"console.inventory.show", "Show"},
    {"console.inventory.count", "Count"},
    {"console.inventory.changed", "Last change"},
    {"console.inventory.next", "Next page"},
    {"console.inventory.csv", "Download this view as CSV"},
    {"console.inventory.none", "Nothing to show."},
    {"console.inventory.search", "Item"},
    {"console.inventory.search_hint", "part of the name"},
    {"console.unsupported", "This part of the console is not available with this storage backend."},
    // Dates in [alerts] timezone (notify/report_missing.cpp).
    {"date.day_month_year", "{day} {month} {year}"},
    {"date.day_and_time", "{date}, {time}"},
    {"date.month.1", "January"}, {"date.month.2", "February"}, {"date.month.3", "March"},
    {"date.month.4", "April"}, {"date.month.5", "May"}, {"date.month.6", "June"},
    {"date.month.7", "July"}, {"date.month.8", "August"}, {"date.month.9", "September"},
    {"date.month.10", "October"}, {"date.month.11", "November"}, {"date.month.12", "December"},
    // Missing reports (notify/report_missing.cpp).
    {"missing.rule.within_days", "a report is due at most {days} days after the one before"},
    {"missing.rule.day_of_month", "each month's report is due by day {day} of the next month"},
    {"missing.last", "The last report from {store} arrived on {date}."},
    {"missing.never", "No report from {store} has arrived yet."},
    {"missing.subject", "Report missing: {store}"},
    {"missing.body",
     "No stock report from {store} arrived by its deadline, {due} ({zone}; {rule}).\n"
     "{last}\n\n"
     "Until a report arrives, nobody can see whether {store} is running out of anything.\n"
     "Please ask the manager of {store} to send the count.\n"},
    {"missing.escalated.subject", "Still no report: {store}, due {due}"},
    {"missing.escalated.body",
     "{store} has still not sent its stock report, {days} days after the deadline of {due} "
     "({zone}; {rule}).\n"
     "{last}\n\n"
     "You get this because your subscription covers every store; the subscribers of {store} "
     "were told when the deadline passed.\n"},
    // Digests (notify/digest_mail.cpp).
    {"digest.subject", "Stock digest, {date}: {summary}"},
    {"digest.summary.out#one", "{n} item out of stock"},
    {"digest.summary.out#other", "{n} items out of stock"},
    {"digest.summary.below#one", "{n} item below minimum"},
    {"digest.summary.below#other", "{n} items below minimum"},
    {"digest.summary.missing#one", "{n} report missing"},
    {"digest.summary.missing#other", "{n} reports missing"},
    {"digest.summary.all_in_stock", "all in stock"},
    {"digest.heading.daily", "Your daily stock digest, from {from} to {to} ({zone})."},
    {"digest.heading.weekly", "Your weekly stock digest, from {from} to {to} ({zone})."},
    {"digest.heading.monthly", "Your monthly stock digest, from {from} to {to} ({zone})."},
    {"digest.quiet", "All in stock. No report arrived, none is missing and no count changed."},
    {"digest.all_in_stock", "All in stock: no item is out of stock or below its minimum."},
    {"digest.section.out", "Out of stock now ({n}):"},
    {"digest.section.below", "Below minimum now ({n}):"},
    {"digest.section.missing", "Reports missing ({n}):"},
    {"digest.section.received", "Reports received ({n}):"},
    {"digest.section.changes", "Largest changes:"},
    {"digest.none_received", "No report arrived in this period."},
    {"digest.line.item", "{store}: {item}"},
    {"digest.line.below", "{store}: {item}, {count} (minimum {minimum})"},
    {"digest.line.missing", "{store}: due {due}"},
    {"digest.line.received", "{store}: {date}"},
    {"digest.line.change", "{store}: {item}, {old} to {new}"},
    {"digest.line.new", "{store}: {item}, new, {new}"},
    {"digest.section.transfers", "Suggested transfers ({n}):"},
    {"digest.line.transfer", "{to}: {item}, move {quantity} from {from} (it has {has})"},
    {"digest.more", "... and {n} more"},
    // Replies to reports sent by email (notify/mail_reply.hpp).
    {"mail.reply.subject", "Re: {subject}"},
    {"mail.reply.no_subject", "your stock report"},
    {"mail.reply.results", "Thank you for your email. Here is what became of each file attached to it:"},
    {"mail.reply.loaded#one", "{name}: loaded, {rows} row (report {id})."},
    {"mail.reply.loaded#other", "{name}: loaded, {rows} rows (report {id})."},
    {"mail.reply.alerts", "Alerts it raised:"},
    {"mail.reply.no_alerts", "It raised no alerts."},
    {"mail.reply.more_alerts", "... and {n} more."},
    {"mail.reply.event.out_of_stock", "{store} is out of stock of {item}"},
    {"mail.reply.event.back_in_stock", "{store} has {item} back in stock ({count})"},
    {"mail.reply.event.other", "{store}: {item} ({count})"},
    {"mail.reply.duplicate",
     "{name}: not loaded again: the same file was already loaded as report {original}."},
    {"mail.reply.rejected",
     "{name}: rejected, and nothing of it was loaded (report {id}). Problems found:\n{problems}\n"
     "Correct the file and send it again."},
    {"mail.reply.too_large",
     "{name}: not read: it is {size}, and the limit is {limit}. Split the report into smaller "
     "files and send them in separate emails."},
    {"mail.reply.not_report",
     "{name}: not a report, so it was not read. Reports are .csv, .xlsx or .ods files, attached "
     "as they are (not zipped)."},
    {"mail.reply.foreign_store",
     "{name}: not loaded: line {line} is for the store '{store}', which your address may not "
     "report for. Send only your own stores' rows, or ask the owner to add the store to your "
     "address."},
    {"mail.reply.foreign_store_row",
     "{name}: not loaded: row {line} is for the store '{store}', which your address may not "
     "report for. Send only your own stores' rows, or ask the owner to add the store to your "
     "address."},
    {"mail.reply.too_many",
     "{name}: not read: only the first {limit} reports of one email are read. Send the rest in "
     "another email."},
    {"mail.reply.unreadable", "{name}: could not be read ({problem}). Attach it again and resend."},
    {"mail.reply.how_to",
     "Thank you for your email. No report was attached to it, so nothing was loaded.\n\n"
     "To send a stock report, attach the file to an email to {mailbox}: a CSV file (.csv) with "
     "the columns store, item and count, or a spreadsheet (.xlsx or .ods) such as the monthly "
     "stock-count sheet. Write counts without separators (1000, not 1,000). A table pasted into "
     "the text of the email is not read.\n\n"
     "You will get a reply like this one that says what was loaded."},
    {"mail.reply.refused",
     "Thank you for your email. This address takes stock reports only from the warehouse "
     "managers registered with it, and {sender} is not one of them, so nothing in your email "
     "was read.\n\n"
     "If you manage a warehouse and should be able to send reports here, ask the owner of "
     "stockwatch to add your address. This is an automatic reply; you will not get another one "
     "for this email."},
    {"mail.reply.unverified",
     "Thank you for your email. It came in the name of {sender}, an address registered to send "
     "stock reports, but the receiving mail server could not confirm that it really was sent "
     "from that address, so nothing in it was read.\n\n"
     "Send it again from the mail account you always use. If this keeps happening, tell the "
     "owner of stockwatch."},
    {"mail.reply.message_too_large",
     "Thank you for your email. It is {size}, and this mailbox reads emails of up to {limit}, "
     "so nothing in it was read. Send the reports in several smaller emails."},
    {"mail.reply.footer", "-- \nstockwatch, {mailbox}"},
};

bool english_is_one(std::int64_t n) { return n == 1; }

constexpr Catalog kEnglishCatalog{"en", kEnglish, english_is_one};

// Bahasa Indonesia. A key missing here is written in English.
constexpr CatalogEntry kIndonesian[] = {
    // Minimum levels, reminders and the levels file.
    {"alert.low_stock.sentence", "Stok {item} di {store} menipis: sisa {count}, minimum {minimum}"},
    {"alert.low_stock.state", "di bawah minimum"},
    {"alert.still_out.sentence", "Stok {item} di {store} masih habis"},
    {"alert.still_out.state", "masih habis"},
    {"alert.still_out.footer",
     "Pengingat ini dikirim setiap {days} hari selama stok barang tetap 0 ([alerts] "
     "still_out_every_days). Untuk menghentikannya bagi satu barang sampai jumlahnya berubah: "
     "stockwatch mute --store GUDANG --item BARANG --until-change"},
    {"alert.levels_footer", "Berkas batas minimum: {path} (laporan {id}), dimuat {time}"},
    {"rejected.levels_subject", "Berkas batas minimum ditolak: {path}"},
    {"rejected.levels_body",
     "Berkas batas minimum {path} ditolak dan tidak ada isinya yang dipakai: batas minimum "
     "sebelumnya tetap berlaku.\n\n"
     "Masalah yang ditemukan:\n{problems}\n\n"
     "Perbaiki berkasnya lalu kirim lagi.\n"
     "\nBerkas batas minimum: {path} (laporan {id}), diterima {time}\n"},
    {"problem.minimum_empty", "kolom minimum kosong; tulis bilangan bulat, 0 atau lebih"},
    {"problem.minimum_invalid", "'{found}' bukan nilai minimum; tulis bilangan bulat, 0 atau lebih"},
    {"problem.duplicate_level",
     "gudang '{store}' dan barang '{item}' sudah diberi minimum di baris {first_line}; cukup "
     "tulis satu baris"},
    {"problem.date_empty", "tanggalnya kosong; tulis tanggal penghitungan stok, misalnya 2026-11-30"},
    {"problem.date_invalid",
     "'{found}' bukan tanggal; tulis seperti 2026-11-30 (atau 30/11/2026, atau 2026-11 untuk akhir "
     "bulan)"},
    {"problem.date_differs",
     "tanggal {found} berbeda dengan {first} di baris {first_line}; satu laporan berisi stok satu "
     "hari saja, jadi kirim stok tiap hari sebagai laporan tersendiri"},

    // Perkiraan di konsol (http/console/forecast_pages.hpp).
    {"console.item.title", "{item} di {store}"},
    {"console.item.unknown", "Belum ada laporan yang mencantumkan barang ini untuk gudang ini."},
    {"console.item.no_history", "Belum ada riwayat."},
    {"console.item.chart_title", "Jumlah {item} di {store} pada setiap laporan, dan perkiraan tanggal habisnya"},
    {"console.item.runs_out_on", "Diperkirakan habis pada {date}"},
    {"console.item.point", "{date}: {count} (laporan {id})"},
    {"console.item.daily_use", "Pemakaian per hari"},
    {"console.item.days_of_cover", "Cukup untuk (hari)"},
    {"console.item.runs_out", "Habis pada"},
    {"console.item.never", "tidak, dengan pemakaian sekarang"},
    {"console.item.not_enough", "riwayat belum cukup"},
    {"console.item.method",
     "Pemakaian per hari adalah penurunan jumlah di antara dua laporan dibagi jumlah hari di "
     "antaranya; kenaikan (barang masuk) dan penurunan sampai 0 tidak dihitung. Setiap titik "
     "menuju laporannya."},
    {"console.overview.running_out", "Segera habis"},
    {"console.overview.none_running_out", "Tidak ada barang yang diperkirakan segera habis."},
    {"console.overview.transfers", "Saran pemindahan stok"},
    {"console.overview.none_transfers", "Tidak ada pemindahan yang disarankan."},
    {"console.transfer.line", "Kirim {quantity} {item} dari {from} (stoknya {has}) ke {to}"},
    {"console.inventory.sort", "Urutkan"},
    {"console.inventory.sort_name", "gudang dan barang"},
    {"console.inventory.sort_cover", "sisa hari"},
    {"console.inventory.sort_item", "nama barang"},
    {"console.inventory.sort_count", "jumlah, terkecil dulu"},
    {"console.inventory.sort_changed", "perubahan terakhir, terbaru dulu"},
    // Predicted stock-outs and transfers (notify/alert.cpp).
    {"alert.running_out.sentence",
     "{item} di {store} diperkirakan habis sekitar {date}: sisa {count}, terpakai sekitar "
     "{rate} per hari"},
    {"alert.running_out.state", "akan segera habis"},
    {"alert.transfer.sentence",
     "  Saran: kirim {quantity} {item} dari {from} (stoknya {has}) ke {store}"},
    // Alerts (notify/alert.hpp). The summaries name the event first, as
    // Indonesian subjects do ("Stok habis: Medan, Robusta Dairi").
    {"number.group", "."},
    {"alert.subject", ""},
    {"alert.out_of_stock.sentence", "Stok {item} di {store} habis"},
    {"alert.back_in_stock.sentence", "{item} di {store} tersedia lagi ({count})"},
    {"alert.out_of_stock.state", "habis"},
    {"alert.back_in_stock.state", "tersedia lagi"},
    {"alert.out_of_stock.summary.item", "Stok habis: {store}, {item}"},
    {"alert.out_of_stock.summary.store", "Stok habis: {store}, {total} barang"},
    {"alert.out_of_stock.summary.stores", "Stok habis: {total} barang di {stores} gudang"},
    {"alert.out_of_stock.summary.over_stores",
     "Stok habis: {total} barang di lebih dari {stores} gudang"},
    {"alert.back_in_stock.summary.item", "Tersedia lagi: {store}, {item}"},
    {"alert.back_in_stock.summary.store", "Tersedia lagi: {store}, {total} barang"},
    {"alert.back_in_stock.summary.stores", "Tersedia lagi: {total} barang di {stores} gudang"},
    {"alert.back_in_stock.summary.over_stores",
     "Tersedia lagi: {total} barang di lebih dari {stores} gudang"},
    {"alert.summary.first_listed", " ({listed} pertama dicantumkan)"},
    {"alert.more_items",
     "... dan {more} barang lain {state} dalam laporan ini untuk langganan Anda, tidak "
     "dicantumkan di sini (pesan ini hanya mencantumkan {listed} pertama dari {total}); tabel "
     "persediaan memuat semuanya"},
    {"alert.footer", "Laporan: {path} (laporan {id}), dimuat {time}"},
    {"alert.time", "%d/%m/%Y %H.%M.%S UTC"},
    {"alert.html.store", "Gudang"},
    {"alert.html.item", "Barang"},
    {"alert.html.count", "Jumlah"},
    {"alert.html.minimum", "Minimum"},
    {"alert.html.previous", "Jumlah sebelumnya"},
    {"alert.html.report", "Laporan terakhir"},
    {"alert.html.report_cell", "{path} (laporan {id}), {time}"},
    {"alert.html.new_item", "baru"},
    {"rejected.html.problems", "Masalah yang ditemukan"},
    {"rejected.subject", "Laporan ditolak: {path}"},
    {"rejected.body",
     "Laporan {path} ditolak, dan tidak ada isinya yang dimuat.\n"
     "Selama laporan yang sudah diperbaiki belum masuk, stok ini tidak diawasi.\n\n"
     "Masalah yang ditemukan:\n{problems}\n\n"
     "Perbaiki laporannya, lalu kirim lagi.\n"
     "\nLaporan: {path} (laporan {id}), diterima {time}\n"},
    {"test.subject", "Pesan uji"},

    // Report problems.
    {"role.store", "gudang"},
    {"role.item", "barang"},
    {"role.count", "jumlah"},
    {"role.date", "tanggal"},
    {"problem.at_line", "baris {line}: {message}"},
    {"problem.at_line_column", "baris {line}, kolom {column}: {message}"},
    {"problem.at_cell", "lembar \"{sheet}\", sel {cell}: {message}"},
    {"problem.at_sheet_row", "lembar \"{sheet}\", baris {row}: {message}"},
    {"problem.more", "... dan {n} masalah lain"},
    {"problem.unclosed_quote",
     "kolom bertanda kutip yang dimulai di sini tidak pernah ditutup; periksa tanda kutipnya"},
    {"problem.empty_report", "laporannya kosong"},
    {"problem.header_without_rows", "laporan ini punya baris judul, tetapi tidak ada isinya"},
    {"problem.line_too_long", "barisnya lebih panjang dari {limit} bita"},
    {"problem.binary_data",
     "berkas ini berisi data biner (bita NUL); ini bukan laporan CSV"},
    {"problem.not_utf8", "berkas ini bukan UTF-8 yang sah; simpan sebagai \"CSV UTF-8\""},
    {"problem.missing_column",
     "baris judul tidak punya kolom {role} (yang ada: {found}); beri nama salah satu dari: "
     "{names}"},
    {"problem.missing_column_no_names",
     "baris judul tidak punya kolom {role} (tidak ada nama kolom); beri nama salah satu dari: "
     "{names}"},
    {"problem.duplicate_column",
     "baris judul punya dua kolom {role}: '{first}' (kolom {first_column}) dan '{second}' "
     "(kolom {second_column}); sisakan satu saja"},
    {"problem.empty_name", "nama {role} kosong"},
    {"problem.control_character",
     "nama {role} berisi karakter kendali ({character}); hapus karakter itu"},
    {"character.U+000A", "ganti baris"},
    {"character.U+000D", "ganti baris"},
    {"character.U+0009", "tab"},
    {"character.U+007F", "delete, U+007F"},
    {"problem.name_too_long", "nama {role} panjangnya {length} bita; batasnya {limit}"},
    {"problem.too_few_columns", "baris ini punya {n} kolom, padahal baris judul butuh {needed}"},
    {"problem.extra_values",
     "baris ini punya {columns} kolom, padahal baris judul punya {header_columns}; tulis angka "
     "tanpa pemisah (1000, bukan 1{delimiter}000) dan beri tanda kutip pada nama yang memuat "
     "'{delimiter}'"},
    {"problem.extra_values_tab",
     "baris ini punya {columns} kolom, padahal baris judul punya {header_columns}; tulis angka "
     "tanpa pemisah (1000, bukan 1.000) dan beri tanda kutip pada nama yang memuat tab"},
    {"problem.count_empty", "jumlahnya kosong; tulis 0 jika barangnya habis"},
    {"problem.count_too_large", "'{found}' melebihi jumlah maksimum {max}"},
    {"problem.count_negative", "'{found}' negatif; jumlah harus 0 atau lebih"},
    {"problem.count_not_whole", "'{found}' bukan bilangan bulat"},
    {"problem.count_not_whole_write", "'{found}' bukan bilangan bulat; tulis {write}"},
    {"problem.count_fraction", "'{found}' bukan bilangan bulat; jumlah dihitung per satuan utuh"},
    {"problem.duplicate_row",
     "gudang '{store}' dan barang '{item}' sudah ada di baris {first_line}; cantumkan setiap "
     "barang sekali saja"},
    // Masalah buku kerja (report/workbook/workbook_problem.hpp).
    {"problem.at_sheet",
     "lembar \"{sheet}\": {message}"},
    {"problem.count_is_date",
     "jumlahnya berupa tanggal ({found}); ubah format kolom jumlah menjadi angka, bukan tanggal"},
    {"problem.merged_cells",
     "sel {first}:{last} digabung; pisahkan lagi lalu tulis nilainya di setiap sel"},
    {"problem.workbook_cannot_open",
     "buku kerja tidak dapat dibuka"},
    {"problem.workbook_cannot_read",
     "buku kerja tidak dapat dibaca: {reason}"},
    {"problem.workbook_not_zip",
     "buku kerja tidak dapat dibuka sebagai arsip zip: {reason}"},
    {"problem.workbook_damaged_entry",
     "buku kerja rusak (ada entri yang tidak terbaca)"},
    {"problem.workbook_damaged_row_order",
     "buku kerja rusak (nomor barisnya tidak berurutan)"},
    {"problem.workbook_damaged_cell_order",
     "buku kerja rusak (urutan selnya kacau)"},
    {"problem.workbook_damaged_no_part",
     "buku kerja rusak (isi lembarnya tidak ada)"},
    {"problem.workbook_damaged_text",
     "buku kerja rusak (sel merujuk ke teks yang tidak ada)"},
    {"problem.workbook_damaged_cell_ref",
     "buku kerja rusak (referensi sel {ref})"},
    {"problem.workbook_damaged_number",
     "buku kerja rusak (angka '{found}')"},
    {"problem.workbook_damaged",
     "buku kerja rusak ({detail})"},
    {"problem.workbook_zip_bomb",
     "isi buku kerja jauh lebih besar daripada ukuran berkasnya ({part}), seperti bom zip; simpan ulang dari program lembar kerja"},
    {"problem.workbook_outside_entry",
     "buku kerja memuat entri yang namanya menunjuk ke luar arsip; simpan ulang dari program lembar kerja"},
    {"problem.workbook_password",
     "buku kerja dilindungi kata sandi; simpan ulang tanpa kata sandi"},
    {"problem.workbook_no_sheet",
     "buku kerja tidak punya lembar"},
    {"problem.workbook_missing_part",
     "buku kerja tidak memuat {part}"},
    {"problem.workbook_part_too_large",
     "{part} dalam buku kerja terlalu besar"},
    {"problem.workbook_xml_too_deep",
     "XML buku kerja bersarang terlalu dalam; simpan ulang dari program lembar kerja"},
    {"problem.workbook_xml_doctype",
     "XML buku kerja mendeklarasikan tipe dokumen (entitas), padahal buku kerja tidak pernah memerlukannya; simpan ulang dari program lembar kerja"},
    {"problem.workbook_xml_entities",
     "XML buku kerja mendeklarasikan entitas, padahal buku kerja tidak pernah memerlukannya; simpan ulang dari program lembar kerja"},
    {"problem.workbook_xml_damaged",
     "XML buku kerja rusak ({detail} di baris {line}); simpan ulang dari program lembar kerja"},
    {"problem.workbook_too_many_sheets",
     "buku kerja punya terlalu banyak lembar"},
    {"problem.workbook_too_many_parts",
     "buku kerja punya terlalu banyak bagian"},
    {"problem.workbook_too_many_texts",
     "buku kerja memuat lebih dari {limit} teks berbeda (shared strings), jauh melebihi kebutuhan laporan stok; hapus lembar yang tidak dipakai atau naikkan batasnya di pengaturan"},
    {"problem.workbook_texts_too_large",
     "teks dalam buku kerja (shared strings) memakan lebih dari {limit} bita; hapus lembar yang tidak dipakai atau naikkan batasnya di pengaturan"},
    {"problem.workbook_text_too_long",
     "ada teks dalam buku kerja yang panjangnya lebih dari {limit} bita"},
    {"problem.workbook_too_many_styles",
     "buku kerja punya terlalu banyak gaya sel"},
    {"problem.workbook_too_many_rows",
     "lembar ini punya baris lebih banyak daripada yang dibolehkan program lembar kerja"},
    {"problem.cell_too_large",
     "isi sel ini lebih dari {limit} bita"},
    {"problem.formula_no_value",
     "rumus ini tidak punya nilai tersimpan; buka berkasnya di program lembar kerja lalu simpan ulang"},
    {"problem.cell_error",
     "sel ini menampilkan galat {error}; perbaiki rumusnya lalu simpan ulang"},
    {"problem.cell_repeated",
     "sel ini diulang {times} kali di sepanjang baris; hapus salinannya"},
    {"problem.row_repeated",
     "baris ini diulang {times} kali; hapus salinannya"},
    {"problem.file_xls",
     "berkas ini buku kerja Excel versi lama (.xls); simpan sebagai .xlsx atau CSV"},
    {"problem.file_text",
     "berkas ini berisi teks, bukan buku kerja; jika isinya CSV, beri nama berakhiran .csv"},
    {"problem.file_not_workbook",
     "berkas ini bukan buku kerja; simpan sebagai .xlsx, .ods, atau CSV"},
    {"problem.zip_not_workbook",
     "berkas ini arsip zip, tetapi bukan buku kerja; simpan sebagai .xlsx, .ods, atau CSV"},
    {"problem.csv_is_workbook",
     "berkas ini buku kerja (atau arsip zip lain), bukan CSV; jika memang buku kerja, beri nama berakhiran .xlsx (Excel) atau .ods (LibreOffice), atau simpan sebagai CSV"},
    {"problem.csv_is_xls",
     "berkas ini buku kerja Excel versi lama (.xls), bukan CSV; simpan sebagai .xlsx atau CSV"},

    // The stock-count template.
    {"template.header.store", "Gudang"},
    {"template.header.item", "Barang"},
    {"template.header.last_count", "Hitungan terakhir"},
    {"template.header.count", "Jumlah"},
    {"template.sheet", "Stok"},
    {"template.note.last_count",
     "Hanya sebagai acuan: jumlah yang tercatat sekarang, dari laporan terakhir. Kolom ini tidak "
     "dibaca; tulis jumlah baru di kolom \"{count}\"."},
    {"template.note.count",
     "Tulis jumlah setiap barang: bilangan bulat, 0 jika barang habis. Untuk barang yang belum "
     "tercantum, tambahkan baris berisi gudang, barang, dan jumlahnya."},
    {"template.validation.title", "Jumlah"},
    {"template.validation.message",
     "Jumlah harus bilangan bulat, 0 atau lebih: tulis 0 jika barang habis."},
    {"template.mail.subject", "Lembar hitung stok untuk {store}"},
    {"template.mail.items", "{n} barang"},
    {"template.mail.body",
     "Terlampir lembar hitung stok {store}: {items}, dengan jumlah yang tercatat di "
     "stockwatch pada {time}.\n\n"
     "Isi kolom \"{count}\" dengan jumlah setiap barang (0 jika barang habis). Kolom "
     "\"{last_count}\" hanya sebagai acuan dan tidak dibaca. Untuk barang yang belum tercantum, "
     "tambahkan baris. Jangan ubah baris judul.\n\n"
     "Simpan sebagai .xlsx dan kirimkan sebagai laporan gudang, seperti laporan CSV.\n"},

    // The web console.
    {"console.title", "stockwatch"},
    {"console.skip", "Langsung ke isi"},
    {"console.nav.overview", "Ringkasan"},
    {"console.nav.upload", "Unggah"},
    {"console.nav.reports", "Laporan"},
    {"console.nav.inventory", "Persediaan"},
    {"console.nav.main", "Utama"},
    {"console.signed_in_as", "Masuk sebagai {name} ({role})"},
    {"console.role.owner", "pemilik"},
    {"console.role.manager", "pengelola {stores}"},
    {"console.sign_out", "Keluar"},
    {"console.language", "Bahasa"},
    {"console.language.switch", "English"},
    {"console.sign_in.title", "Masuk"},
    {"console.sign_in.name", "Nama"},
    {"console.sign_in.password", "Kata sandi"},
    {"console.sign_in.submit", "Masuk"},
    {"console.sign_in.failed", "Nama atau kata sandi salah."},
    {"console.sign_in.slow_down", "Terlalu banyak percobaan masuk yang gagal. Tunggu {seconds} detik, lalu coba lagi."},
    {"console.sign_in.no_owner",
     "Belum ada akun pemilik. Log daemon memuat tautan penyiapan sekali pakai (\"console: no owner "
     "yet\"); atau jalankan: stockwatch user add NAMA --role owner"},
    {"console.signed_out", "Anda sudah keluar."},
    {"console.expired", "Sesi Anda berakhir. Silakan masuk lagi."},
    {"console.setup.title", "Buat akun pemilik"},
    {"console.setup.intro", "Tautan ini hanya berlaku sekali. Pemilik boleh melakukan apa saja, dan dapat menambah pengelola nanti dengan perintah stockwatch user."},
    {"console.setup.password2", "Ulangi kata sandi"},
    {"console.setup.submit", "Buat pemilik"},
    {"console.setup.invalid", "Tautan penyiapan ini sudah terpakai, kedaluwarsa, atau pemilik sudah ada. Jalankan ulang daemon untuk tautan baru selama belum ada pemilik, atau jalankan: stockwatch user add NAMA --role owner"},
    {"console.setup.mismatch", "Kedua kata sandi berbeda."},
    {"console.setup.short", "Kata sandi minimal {n} karakter."},
    {"console.setup.bad_name", "Nama harus 1 sampai 64 huruf, angka, '.', '-' atau '_'."},
    {"console.overview.title", "Ringkasan"},
    {"console.overview.stores", "{n} toko"},
    {"console.overview.out_total", "{n} barang habis"},
    {"console.overview.quiet_total", "{n} toko tidak melapor"},
    {"console.overview.store", "Toko"},
    {"console.overview.last_report", "Laporan terakhir"},
    {"console.overview.out", "Stok habis"},
    {"console.overview.quiet", "tidak ada laporan lebih dari {days} hari"},
    {"console.overview.never", "belum ada"},
    {"console.overview.empty", "Belum ada laporan yang dimuat. Unggah satu untuk memulai."},
    {"console.overview.out_items", "Stok habis sekarang"},
    {"console.overview.item", "Barang"},
    {"console.overview.since", "Sejak"},
    {"console.overview.more", "Hanya {n} yang pertama ditampilkan."},
    {"console.overview.none_out", "Tidak ada stok yang habis."},
    {"console.overview.sheet", "Lembar bulan ini"},
    {"console.overview.sheet_link", "Unduh (.xlsx)"},
    {"console.overview.sheet_for", "Unduh lembar hitung stok bulan ini untuk {store}"},
    {"console.upload.title", "Unggah laporan"},
    {"console.upload.files", "Berkas laporan (CSV, Excel, LibreOffice)"},
    {"console.upload.hint", "Satu atau beberapa laporan dengan kolom store, item, count: berkas CSV (.csv) atau buku kerja (.xlsx dari Excel, .ods dari LibreOffice). Setiap berkas dimuat tepat sekali; berkas yang dikirim lagi dikenali sebagai duplikat."},
    {"console.upload.submit", "Unggah"},
    {"console.upload.results", "Hasil"},
    {"console.upload.loaded", "Dimuat: {rows} baris, {changes} berubah (laporan {id})."},
    {"console.upload.duplicate", "Sudah pernah dimuat: berkas ini duplikat laporan {id}; tidak ada yang berubah."},
    {"console.upload.rejected", "Ditolak (laporan {id}); tidak ada yang dimuat. Perbaiki masalah berikut lalu unggah lagi:"},
    {"console.upload.waiting", "Sudah ditaruh di kotak masuk, tetapi belum dimuat dalam {seconds} detik. Hasilnya akan muncul di Laporan."},
    {"console.upload.no_files", "Pilih setidaknya satu berkas."},
    {"console.upload.not_csv", "{file}: stockwatch membaca laporan berupa berkas CSV (.csv) atau buku kerja (.xlsx, .ods). Simpan lembar kerja dalam salah satu bentuk itu (\"CSV UTF-8\" atau \"Excel Workbook\") lalu unggah."},
    {"console.upload.foreign_store", "{file}: baris {line} untuk toko {store}, tetapi akun Anda hanya boleh mengunggah laporan untuk {stores}. Tidak ada isi berkas ini yang dimuat."},
    {"console.upload.too_large", "Berkas-berkas ini bersama lebih besar dari {limit}. Unggah lebih sedikit sekaligus, atau taruh laporan besar di folder kotak masuk."},
    {"console.upload.failed", "{file}: tidak dapat ditaruh di kotak masuk: {error}"},
    {"console.reports.title", "Laporan"},
    {"console.reports.id", "Laporan"},
    {"console.reports.file", "Berkas"},
    {"console.reports.status", "Status"},
    {"console.reports.rows", "Baris"},
    {"console.reports.changes", "Perubahan"},
    {"console.reports.received", "Diterima"},
    {"console.reports.older", "Laporan lebih lama"},
    {"console.reports.none", "Belum ada laporan."},
    {"console.reports.problems", "Masalah"},
    {"console.reports.download", "Unduh berkas asli"},
    {"console.reports.duplicate_of", "duplikat laporan {id}"},
    {"console.reports.gone", "Berkas asli tidak disimpan lagi (inbox.archive = \"delete\", atau sudah dihapus)."},
    {"console.reports.by_email_from", "lewat email dari {sender}"},
    {"console.reports.by_email", "Dikirim lewat email"},
    {"console.reports.arrived_by", "Masuk lewat"},
    {"console.arrived.folder", "folder kotak masuk"},
    {"console.arrived.s3", "unggahan S3"},
    {"console.arrived.browser", "unggahan peramban"},
    {"console.arrived.email", "email"},
    {"console.arrived.unknown", "tidak tercatat"},
    {"console.overview.arrived", "lewat {how}"},
    {"console.reports.sender", "Dari"},
    {"console.reports.attachment", "Lampiran"},
    {"console.reports.message_id", "Message-ID"},
    {"console.status.loaded", "dimuat"},
    {"console.status.rejected", "ditolak"},
    {"console.status.duplicate", "duplikat"},
    {"console.not_found.title", "Tidak ditemukan"},
    {"console.not_found.text", "Tidak ada apa-apa di sini, atau ini bukan untuk Anda."},
    {"console.back", "Kembali ke ringkasan"},
    {"console.refused.title", "Ditolak"},
    {"console.refused.cross_site", "Formulir ini dikirim dari situs lain, atau sudah terlalu lama. Kembali, muat ulang halaman, lalu coba lagi."},
    {"console.error", "Terjadi kesalahan di server: {error}"},
    {"console.nav.alerts", "Peringatan"},
    {"console.nav.status", "Status"},
    {"console.alerts.title", "Peringatan"},
    {"console.alerts.all", "Semua"},
    {"console.alerts.id", "Pesan"},
    {"console.alerts.created", "Diantrekan"},
    {"console.alerts.what", "Isi"},
    {"console.alerts.to", "Kepada"},
    {"console.alerts.state", "Keadaan"},
    {"console.alerts.attempts", "Percobaan"},
    {"console.alerts.error", "Kesalahan terakhir"},
    {"console.alerts.retry", "Kirim lagi"},
    {"console.alerts.retried", "Pesan {id} diantrekan lagi; dikirim dalam 30 detik."},
    {"console.alerts.not_dead", "Pesan {id} bukan pesan yang sudah menyerah dikirim."},
    {"console.alerts.none", "Tidak ada pesan peringatan."},
    {"console.alerts.older", "Pesan lebih lama"},
    {"console.upload.drop", "Tarik berkas laporan ke sini, atau pilih di bawah."},
    {"console.upload.sending", "Mengirim: {percent}%"},
    {"console.upload.loading", "Terkirim. Menunggu stockwatch memuat laporan…"},
    {"console.upload.send_failed", "Unggahan tidak sampai (sambungan terputus, atau berkasnya terlalu besar). Coba lagi, atau unggah lebih sedikit berkas sekaligus."},
    {"console.upload.alerts", "Peringatan yang muncul:"},
    {"console.upload.no_alerts", "Tidak ada peringatan."},
    {"console.upload.more_alerts", "…dan lainnya: lihat laporan dan halaman Peringatan."},
    {"console.message.title", "Pesan {id}"},
    {"console.message.open", "(buka)"},
    {"console.message.channel", "Saluran"},
    {"console.message.subject", "Subjek"},
    {"console.message.report", "Laporan"},
    {"console.message.file", "Lampiran"},
    {"console.message.body", "Isi pesan"},
    {"console.message.note", "Persis seperti yang dikirim: setiap percobaan menyusun pesan dengan cara yang sama dari data yang disimpan saat pesan diantrekan."},
    {"console.message.unreadable", "Pesan ini tidak dapat ditampilkan: {error}"},
    {"console.message.back", "Kembali ke daftar peringatan"},
    {"console.state.queued", "menunggu"},
    {"console.state.sent", "terkirim"},
    {"console.state.dead", "menyerah"},
    {"console.status.title", "Status"},
    {"console.status.ready", "stockwatch berjalan baik."},
    {"console.status.not_ready", "stockwatch belum siap: lihat di bawah."},
    {"console.status.database", "Basis data"},
    {"console.status.database_ok", "dapat dijangkau"},
    {"console.status.inbox", "Kotak masuk"},
    {"console.status.inbox_ok", "diawasi ({mode}): {path}"},
    {"console.status.inbox_bad", "tidak diawasi: {path}"},
    {"console.status.mail", "Surel"},
    {"console.status.mail_via", "keluar lewat {via}"},
    {"console.status.mail_idle", "belum ada yang dikirim sejak mulai"},
    {"console.status.mail_ok", "pengiriman terakhir berhasil ({time}): {result}"},
    {"console.status.mail_bad", "pengiriman terakhir gagal ({time}): {result}"},
    {"console.status.mailbox", "Laporan lewat email"},
    {"console.status.mailbox_via", "membaca {via}"},
    {"console.status.mailbox_starting", "belum selesai memeriksa untuk pertama kali"},
    {"console.status.mailbox_idle", "pemeriksaan terakhir berhasil ({time}); email baru langsung terlihat (IMAP IDLE)"},
    {"console.status.mailbox_poll", "pemeriksaan terakhir berhasil ({time}); server tidak mendukung IDLE, jadi diperiksa setiap mailbox.poll_interval_s"},
    {"console.status.mailbox_bad", "pemeriksaan terakhir gagal: {error}"},
    {"console.status.outbox", "Kotak keluar"},
    {"console.status.outbox_counts", "{queued} menunggu, {dead} menyerah"},
    {"console.status.failures", "Gagal masuk"},
    {"console.status.no_failures", "Tidak ada percobaan masuk yang gagal."},
    {"console.status.name", "Nama yang dicoba"},
    {"console.status.address", "Dari"},
    {"console.status.when", "Kapan"},
    {"console.inventory.title", "Persediaan"},
    {"console.inventory.store", "Toko"},
    {"console.inventory.all_stores", "Semua toko"},
    {"console.inventory.out_only", "Hanya yang habis"},
    {"console.inventory.show", "Tampilkan"},
    {"console.inventory.count", "Jumlah"},
    {"console.inventory.changed", "Perubahan terakhir"},
    {"console.inventory.next", "Halaman berikutnya"},
    {"console.inventory.csv", "Unduh tampilan ini sebagai CSV"},
    {"console.inventory.none", "Tidak ada yang ditampilkan."},
    {"console.inventory.search", "Barang"},
    {"console.inventory.search_hint", "sebagian nama"},
    {"console.unsupported", "Bagian konsol ini tidak tersedia dengan penyimpanan ini."},
    // Tanggal dalam [alerts] timezone.
    {"date.day_month_year", "{day} {month} {year}"},
    {"date.day_and_time", "{date} pukul {time}"},
    {"date.month.1", "Januari"}, {"date.month.2", "Februari"}, {"date.month.3", "Maret"},
    {"date.month.4", "April"}, {"date.month.5", "Mei"}, {"date.month.6", "Juni"},
    {"date.month.7", "Juli"}, {"date.month.8", "Agustus"}, {"date.month.9", "September"},
    {"date.month.10", "Oktober"}, {"date.month.11", "November"}, {"date.month.12", "Desember"},
    // Laporan yang belum masuk.
    {"missing.rule.within_days", "laporan paling lambat {days} hari setelah laporan sebelumnya"},
    {"missing.rule.day_of_month", "laporan tiap bulan paling lambat tanggal {day} bulan berikutnya"},
    {"missing.last", "Laporan terakhir dari {store} masuk pada {date}."},
    {"missing.never", "Belum pernah ada laporan dari {store}."},
    {"missing.subject", "Laporan belum masuk: {store}"},
    {"missing.body",
     "Laporan stok dari {store} belum masuk sampai batas waktunya, {due} ({zone}; {rule}).\n"
     "{last}\n\n"
     "Selama laporan belum masuk, tidak ada yang tahu apakah stok di {store} mulai habis.\n"
     "Mohon minta kepala gudang {store} mengirim hitungan stoknya.\n"},
    {"missing.escalated.subject", "Masih belum ada laporan: {store}, batas waktu {due}"},
    {"missing.escalated.body",
     "{store} masih belum mengirim laporan stok, {days} hari setelah batas waktu {due} "
     "({zone}; {rule}).\n"
     "{last}\n\n"
     "Anda menerima pesan ini karena langganan Anda mencakup semua gudang; pelanggan {store} "
     "sudah diberi tahu saat batas waktunya lewat.\n"},
    // Ringkasan berkala.
    {"digest.subject", "Ringkasan stok {date}: {summary}"},
    {"digest.summary.out", "{n} barang habis"},
    {"digest.summary.below", "{n} barang di bawah minimum"},
    {"digest.summary.missing", "{n} laporan belum masuk"},
    {"digest.summary.all_in_stock", "semua stok tersedia"},
    {"digest.heading.daily", "Ringkasan stok harian Anda, dari {from} sampai {to} ({zone})."},
    {"digest.heading.weekly", "Ringkasan stok mingguan Anda, dari {from} sampai {to} ({zone})."},
    {"digest.heading.monthly", "Ringkasan stok bulanan Anda, dari {from} sampai {to} ({zone})."},
    {"digest.quiet",
     "Semua stok tersedia. Tidak ada laporan yang masuk, tidak ada yang terlambat, dan tidak ada "
     "jumlah yang berubah."},
    {"digest.all_in_stock", "Semua stok tersedia: tidak ada barang yang habis atau di bawah minimum."},
    {"digest.section.out", "Habis saat ini ({n}):"},
    {"digest.section.below", "Di bawah minimum saat ini ({n}):"},
    {"digest.section.missing", "Laporan belum masuk ({n}):"},
    {"digest.section.received", "Laporan yang masuk ({n}):"},
    {"digest.section.changes", "Perubahan terbesar:"},
    {"digest.none_received", "Tidak ada laporan yang masuk pada periode ini."},
    {"digest.line.item", "{store}: {item}"},
    {"digest.line.below", "{store}: {item}, {count} (minimum {minimum})"},
    {"digest.line.missing", "{store}: batas waktu {due}"},
    {"digest.line.received", "{store}: {date}"},
    {"digest.line.change", "{store}: {item}, dari {old} menjadi {new}"},
    {"digest.line.new", "{store}: {item}, baru, {new}"},
    {"digest.section.transfers", "Saran pemindahan stok ({n}):"},
    {"digest.line.transfer", "{to}: {item}, kirim {quantity} dari {from} (stoknya {has})"},
    {"digest.more", "... dan {n} lainnya"},
    // Replies to reports sent by email (notify/mail_reply.hpp).
    {"mail.reply.subject", "Re: {subject}"},
    {"mail.reply.no_subject", "laporan stok Anda"},
    {"mail.reply.results", "Terima kasih atas email Anda. Berikut hasil setiap berkas yang terlampir:"},
    {"mail.reply.loaded", "{name}: berhasil dimuat, {rows} baris (laporan {id})."},
    {"mail.reply.alerts", "Peringatan yang muncul:"},
    {"mail.reply.no_alerts", "Tidak ada peringatan."},
    {"mail.reply.more_alerts", "... dan {n} lainnya."},
    {"mail.reply.event.out_of_stock", "Stok {item} di {store} habis"},
    {"mail.reply.event.back_in_stock", "Stok {item} di {store} tersedia lagi ({count})"},
    {"mail.reply.duplicate",
     "{name}: tidak dimuat lagi, karena berkas yang sama sudah dimuat sebagai laporan {original}."},
    {"mail.reply.rejected",
     "{name}: ditolak, dan tidak ada isinya yang dimuat (laporan {id}). Masalah yang ditemukan:\n"
     "{problems}\nPerbaiki berkasnya, lalu kirim lagi."},
    {"mail.reply.too_large",
     "{name}: tidak dibaca, karena ukurannya {size} dan batasnya {limit}. Pecah laporan menjadi "
     "beberapa berkas yang lebih kecil dan kirim dalam email terpisah."},
    {"mail.reply.not_report",
     "{name}: bukan laporan, jadi tidak dibaca. Laporan berupa berkas .csv, .xlsx, atau .ods yang "
     "dilampirkan apa adanya (tidak di-zip)."},
    {"mail.reply.foreign_store",
     "{name}: tidak dimuat, karena baris {line} berisi gudang '{store}', yang tidak boleh "
     "dilaporkan dari alamat Anda. Kirim hanya baris gudang Anda sendiri, atau minta pemilik "
     "menambahkan gudang itu untuk alamat Anda."},
    {"mail.reply.foreign_store_row",
     "{name}: tidak dimuat, karena baris {line} di lembar kerja berisi gudang '{store}', yang "
     "tidak boleh dilaporkan dari alamat Anda. Kirim hanya baris gudang Anda sendiri, atau minta "
     "pemilik menambahkan gudang itu untuk alamat Anda."},
    {"mail.reply.too_many",
     "{name}: tidak dibaca, karena hanya {limit} laporan pertama dalam satu email yang dibaca. "
     "Kirim sisanya dalam email lain."},
    {"mail.reply.unreadable", "{name}: tidak dapat dibaca ({problem}). Lampirkan lagi, lalu kirim ulang."},
    {"mail.reply.how_to",
     "Terima kasih atas email Anda. Tidak ada laporan yang terlampir, jadi tidak ada yang "
     "dimuat.\n\n"
     "Untuk mengirim laporan stok, lampirkan berkasnya pada email ke {mailbox}: berkas CSV (.csv) "
     "dengan kolom store, item, dan count, atau lembar kerja (.xlsx atau .ods) seperti lembar "
     "hitung stok bulanan. Tulis jumlah tanpa pemisah ribuan (1000, bukan 1.000). Tabel yang "
     "ditempel di isi email tidak dibaca.\n\n"
     "Anda akan menerima balasan seperti ini yang menjelaskan apa saja yang dimuat."},
    {"mail.reply.refused",
     "Terima kasih atas email Anda. Alamat ini hanya menerima laporan stok dari kepala gudang "
     "yang terdaftar, dan {sender} tidak termasuk, jadi isi email Anda tidak dibaca.\n\n"
     "Jika Anda mengelola gudang dan seharusnya dapat mengirim laporan ke sini, minta pemilik "
     "stockwatch menambahkan alamat Anda. Ini balasan otomatis; Anda tidak akan menerima balasan "
     "lain untuk email ini."},
    {"mail.reply.unverified",
     "Terima kasih atas email Anda. Email ini dikirim atas nama {sender}, alamat yang terdaftar "
     "untuk mengirim laporan stok, tetapi server email penerima tidak dapat memastikan bahwa "
     "email ini benar-benar dikirim dari alamat itu, jadi isinya tidak dibaca.\n\n"
     "Kirim ulang dari akun email yang biasa Anda pakai. Jika ini terus terjadi, beri tahu "
     "pemilik stockwatch."},
    {"mail.reply.message_too_large",
     "Terima kasih atas email Anda. Ukurannya {size}, sedangkan kotak surat ini hanya membaca "
     "email sampai {limit}, jadi isinya tidak dibaca. Kirim laporan dalam beberapa email yang "
     "lebih kecil."},
    {"mail.reply.footer", "-- \nstockwatch, {mailbox}"},

    // Report problems (report/report_problem.hpp), for the replies above.
};

// Indonesian nouns do not change with the number.
bool indonesian_is_one(std::int64_t) { return false; }

constexpr Catalog kIndonesianCatalog{"id", kIndonesian, indonesian_is_one};

// Every catalog; a new language adds its table above and a line here.
constexpr const Catalog* kCatalogs[] = {&kEnglishCatalog, &kIndonesianCatalog};

}  // namespace

const Catalog& english() { return kEnglishCatalog; }

const Catalog& catalog_for(std::string_view language) {
  for (const Catalog* c : kCatalogs) {
    if (c->language() == language) return *c;
  }
  return kEnglishCatalog;
}

const std::string_view* Catalog::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return &e.text;
  }
  return nullptr;
}

bool Catalog::has(std::string_view key) const { return find(key) != nullptr; }

std::string_view Catalog::text(std::string_view key) const {
  if (const auto* t = find(key)) return *t;
  if (this != &kEnglishCatalog) {
    if (const auto* t = kEnglishCatalog.find(key)) return *t;
  }
  return key;
}

std::string_view Catalog::text(std::string_view key, std::int64_t n) const {
  std::string variant(key);
  variant += is_one_(n) ? "#one" : "#other";
  if (const auto* t = find(variant)) return *t;
  if (const auto* t = find(key)) return *t;
  if (this != &kEnglishCatalog) return kEnglishCatalog.text(key, n);
  return key;
}

std::string Catalog::format(std::string_view key, std::initializer_list<TextArg> args) const {
  return fill_template(text(key), std::span<const TextArg>(args.begin(), args.size()));
}

std::string fill_template(std::string_view tmpl, std::span<const TextArg> args) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) break;
    const std::size_t close = tmpl.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(i, open - i));
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    bool filled = false;
    for (const auto& [n, v] : args) {
      if (n == name) {
        out.append(v);
        filled = true;
        break;
      }
    }
    if (!filled) out.append(tmpl.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(tmpl.substr(i));
  return out;
}

}  // namespace stockwatch

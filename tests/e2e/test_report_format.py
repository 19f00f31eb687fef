"""End to end: the report format (docs/report-format.md) through the real
binary. Reports as spreadsheets really export them are loaded; reports with
problems are rejected whole, with every problem named exactly (line numbers
included) in failed/<name>.error.txt, in the ledger and in the one rejection
alert each subscriber gets."""

import os
import unittest

import harness
from harness import RECIPIENT, SENDER, SUBJECT, parse_message

BOM = b"\xef\xbb\xbf"

# Saved by Excel as "CSV UTF-8" with Indonesian regional settings: a byte
# order mark, ';' between cells, CRLF line ends, quotes around cells that
# hold a ';' or a '"', an empty row in the middle and formatted but empty
# rows at the end.
EXCEL_REPORT = BOM + (
    "Gudang;Barang;Jumlah\r\n"
    "Medan;\"Kopi Arabika; Gayo 250 g\";24\r\n"
    "Medan;\"Teh \"\"Melati\"\" 100 g\";0\r\n"
    "\r\n"
    "Medan;Gula Aren \u00bd kg;12\r\n"
    "Makassar;\"Kopi Toraja \"\"Sapan\"\"; biji\";7\r\n"
    "\r\n"
    ";;\r\n"
    ";;\r\n"
).encode("utf-8")

EXCEL_INVENTORY = {
    ("Medan", "Kopi Arabika; Gayo 250 g"): 24,
    ("Medan", 'Teh "Melati" 100 g'): 0,
    ("Medan", "Gula Aren \u00bd kg"): 12,
    ("Makassar", 'Kopi Toraja "Sapan"; biji'): 7,
}
EXCEL_OOS = 'Medan is out of stock of Teh "Melati" 100 g'

# Three different problems; the blank line counts, since line numbers are
# the lines of the file as a text editor shows them.
THREE_PROBLEMS = (
    b"store,item,count\n"
    b"Medan,Arabika Gayo,24\n"
    b"Medan,Robusta Dairi,1.000\n"
    b"\n"
    b",Liberika Meranti,11\n"
    b"Medan,Kopi Luwak,0\n"
    b"Medan,Arabika Gayo,30\n"
)
THREE_PROBLEMS_ERRORS = [
    "line 3, column count: '1.000' is not a whole number; write 1000",
    "line 5, column store: the store is empty",
    "line 7: store 'Medan' and item 'Arabika Gayo' are already on line 2; list each item once",
]

# Reports with one problem each: (file name, content, the exact problem).
SINGLE_PROBLEMS = [
    # An Excel workbook (a ZIP file) renamed to .csv: told to name it .xlsx.
    ("workbook.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00store,item,count\n",
     "the file is a workbook (or another zip archive), not CSV; if it is a workbook, name it "
     ".xlsx (Excel) or .ods (LibreOffice), or save it as CSV"),
    # Other binary data (a NUL byte) named .csv.
    ("binary.csv", b"store,item,count\nMedan,\x00x,1\n",
     "line 2: the file contains binary data (a NUL byte); it is not a CSV report"),
    ("empty.csv", b"",
     "the report is empty"),
    # An export of a sheet without data: the header and formatted empty rows.
    ("header-only.csv", BOM + b"Gudang;Barang;Jumlah\r\n;;\r\n;;\r\n",
     "the report has a header but no rows"),
    # Saved as "CSV (Comma delimited)", which writes Windows-1252, not UTF-8.
    ("latin1.csv", "store,item,count\nMedan,Caf\u00e9 Bubuk,5\n".encode("cp1252"),
     'line 2: the file is not valid UTF-8; save it as "CSV UTF-8"'),
]


def out_of_stock_lines(msg):
    return [l for l in msg.get_content().splitlines() if " is out of stock of " in l]


class ReportFormatTest(harness.PipelineTestCase):

    def serving(self):
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        env.start_daemon()
        return env

    def drop_bytes(self, env, name, data):
        with open(os.path.join(env.inbox, name), "wb") as f:
            f.write(data)

    def ledger(self, env):
        """{path: (status, error, rows)} for every report in the ledger."""
        return {p: (s, e, r) for p, s, e, r in
                env.query("SELECT path, status, error, rows FROM reports")}

    def error_file(self, env, name):
        with open(os.path.join(env.failed, name + ".error.txt"), encoding="utf-8") as f:
            return f.read()

    def assert_rejection_mail(self, eml, sidecar, name, errors):
        self.assertEqual(sidecar["mail_from"], SENDER)
        self.assertEqual(sidecar["rcpt_tos"], [RECIPIENT])
        msg = parse_message(eml)
        self.assertEqual(str(msg["To"]), RECIPIENT)
        self.assertEqual(str(msg["Subject"]), f"{SUBJECT} Report rejected: {name}")
        # The message is stored as it came over SMTP, with CRLF line ends.
        body = msg.get_content().replace("\r\n", "\n")
        self.assertIn("Problems found:\n" + "\n".join(errors) + "\n", body)
        self.assertEqual(out_of_stock_lines(msg), [])

    # (a) ----------------------------------------------------------------------
    def test_excel_csv_utf8_with_semicolons_and_indonesian_headers_is_loaded(self):
        env = self.serving()
        self.drop_bytes(env, "medan-2026-11.csv", EXCEL_REPORT)

        messages = env.wait_messages(1)
        env.wait_archived(1)
        env.assert_message_count_stays(1)

        self.assertEqual(env.inventory(), EXCEL_INVENTORY)
        self.assertEqual(self.ledger(env), {"medan-2026-11.csv": ("loaded", "", 4)})
        self.assertEqual(os.listdir(env.processed), ["medan-2026-11.csv"])
        with open(os.path.join(env.processed, "medan-2026-11.csv"), "rb") as f:
            self.assertEqual(f.read(), EXCEL_REPORT)
        self.assertEqual(os.listdir(env.failed), [])

        eml, sidecar = messages[0]
        self.assertEqual(sidecar["rcpt_tos"], [RECIPIENT])
        msg = parse_message(eml)
        self.assertEqual(str(msg["Subject"]), f'{SUBJECT} Medan: Teh "Melati" 100 g is out of stock')
        self.assertEqual(out_of_stock_lines(msg), [EXCEL_OOS])
        self.assertIn(EXCEL_OOS, msg.get_content().splitlines())
        self.assertEqual([m["event"] for m in env.outbox()], ["out_of_stock"])
        env.stop_daemon()

    # (b) ----------------------------------------------------------------------
    def test_every_problem_of_a_report_is_listed_and_nothing_is_loaded(self):
        env = self.serving()
        self.drop_bytes(env, "medan-bad.csv", THREE_PROBLEMS)

        messages = env.wait_messages(1)
        env.wait_archived(1)
        env.assert_message_count_stays(1)

        expected = "\n".join(THREE_PROBLEMS_ERRORS)
        self.assertEqual(sorted(os.listdir(env.failed)),
                         ["medan-bad.csv", "medan-bad.csv.error.txt"])
        self.assertEqual(self.error_file(env, "medan-bad.csv"), expected + "\n")
        with open(os.path.join(env.failed, "medan-bad.csv"), "rb") as f:
            self.assertEqual(f.read(), THREE_PROBLEMS)
        self.assertEqual(os.listdir(env.processed), [])

        self.assertEqual(self.ledger(env), {"medan-bad.csv": ("rejected", expected, 0)})
        self.assertEqual(env.inventory(), {})
        self.assertEqual(env.query("SELECT COUNT(*) FROM changes"), [(0,)])

        self.assertEqual(len(messages), 1)
        self.assert_rejection_mail(*messages[0], "medan-bad.csv", THREE_PROBLEMS_ERRORS)
        self.assertEqual([m["event"] for m in env.outbox()], ["report_rejected"])
        env.stop_daemon()

    # (c) ----------------------------------------------------------------------
    def test_single_problem_reports_are_rejected_with_their_exact_problem(self):
        env = self.serving()
        for name, data, _ in SINGLE_PROBLEMS:
            self.drop_bytes(env, name, data)

        n = len(SINGLE_PROBLEMS)
        messages = env.wait_messages(n)
        env.wait_archived(n)
        env.assert_message_count_stays(n)

        ledger = self.ledger(env)
        self.assertEqual(set(ledger), {name for name, _, _ in SINGLE_PROBLEMS})
        by_subject = {str(parse_message(eml)["Subject"]): (eml, sidecar)
                      for eml, sidecar in messages}
        for name, data, problem in SINGLE_PROBLEMS:
            with self.subTest(report=name):
                self.assertEqual(ledger[name], ("rejected", problem, 0))
                self.assertEqual(self.error_file(env, name), problem + "\n")
                with open(os.path.join(env.failed, name), "rb") as f:
                    self.assertEqual(f.read(), data)
                mail = by_subject.get(f"{SUBJECT} Report rejected: {name}")
                self.assertIsNotNone(mail, sorted(by_subject))
                self.assert_rejection_mail(*mail, name, [problem])
        self.assertEqual(os.listdir(env.processed), [])
        self.assertEqual(env.inventory(), {})
        env.stop_daemon()

    # ingest ---------------------------------------------------------------------
    def test_ingest_prints_the_first_problem_and_how_many_more(self):
        env = self.make_env()
        env.write_config(smtp_url="")
        bad = os.path.join(env.root, "medan-bad.csv")
        with open(bad, "wb") as f:
            f.write(THREE_PROBLEMS)
        good = os.path.join(env.root, "medan-excel.csv")
        with open(good, "wb") as f:
            f.write(EXCEL_REPORT)

        res = env.run_cli("ingest", "--config", env.config, bad, good)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertEqual(res.stdout.splitlines(), [
            f"{bad}: rejected: {THREE_PROBLEMS_ERRORS[0]} (and 2 more problems)",
            f"{good}: loaded 4 rows, 4 changes",
            "alerts: 2 queued, 2 sent",
        ])
        self.assertEqual(env.inventory(), EXCEL_INVENTORY)


if __name__ == "__main__":
    unittest.main()

"""End to end: workbooks (.xlsx, .ods) as reports, through the real daemon.

The workbooks are written by real spreadsheet programs: python3-openpyxl
writes the .xlsx files, LibreOffice (soffice --headless --convert-to)
turns one into the .ods (the test that needs it skips itself without
soffice). The hostile ones (a zip bomb, a password-protected workbook) come
from tests/support/make_workbooks.py, which writes them byte by byte as an
attacker would. Uploads go through Debian's aws CLI. Alerts go to the
Maildir (smtp.url empty)."""

import mailbox
import os
import shutil
import subprocess
import tempfile
import unittest

import openpyxl

import harness
from harness import PYTHON, RECIPIENT, SUBJECT, parse_message
from test_http import BUCKET, MEDAN_ONLY, HttpEnv

MEDAN_ROWS = [("Medan", "Arabika Gayo", 24), ("Medan", "Robusta Dairi", 0),
              ("Medan", "Arabika Lintong", 18)]
MEDAN_OOS = "Medan is out of stock of Robusta Dairi"
MAKE_WORKBOOKS = os.path.join(harness.SOURCE_DIR, "tests", "support", "make_workbooks.py")

_HOSTILE = {}


def setUpModule():
    d = tempfile.mkdtemp(prefix="stockwatch-workbooks-")
    _HOSTILE["dir"] = d
    subprocess.run([PYTHON, MAKE_WORKBOOKS, d], check=True, capture_output=True, timeout=600)


def tearDownModule():
    shutil.rmtree(_HOSTILE.get("dir", "/nonexistent"), ignore_errors=True)


def hostile(name):
    return os.path.join(_HOSTILE["dir"], name)


def write_xlsx(path, rows, title="Stok"):
    """A workbook as openpyxl writes it (write-only mode, as for large sheets)."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(["Gudang", "Barang", "Jumlah"])
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def maildir_messages(env):
    new = os.path.join(env.maildir, "new")
    if not os.path.isdir(new):
        return []
    box = mailbox.Maildir(env.maildir, factory=None, create=False)
    return [parse_message(box.get_bytes(k)) for k in box.keys()]


class WorkbookTest(harness.PipelineTestCase):

    def serving(self):
        env = self.make_env()
        env.write_config(smtp_url="")
        env.start_daemon()
        return env

    def wait_mail(self, env, n):
        env.wait_for(lambda: len(maildir_messages(env)) >= n, f"{n} message(s) in the Maildir")
        return maildir_messages(env)

    def test_an_xlsx_dropped_in_the_inbox_loads_and_alerts(self):
        env = self.serving()
        src = write_xlsx(os.path.join(env.root, "stok.xlsx"), MEDAN_ROWS)
        os.makedirs(os.path.join(env.inbox, "medan"))
        env.drop(src, os.path.join("medan", "2026-11.xlsx"))
        (msg,) = self.wait_mail(env, 1)
        env.wait_for(lambda: env.reports() and env.reports()[0][3], "the workbook archived")
        self.assertEqual(str(msg["Subject"]), f"{SUBJECT} Medan: Robusta Dairi is out of stock")
        self.assertIn(MEDAN_OOS, msg.get_content().splitlines())
        self.assertEqual(env.inventory(), {(s, i): c for s, i, c in MEDAN_ROWS})
        ((_, path, status, archived),) = env.reports()
        self.assertEqual((path, status), ("medan/2026-11.xlsx", "loaded"))
        self.assertTrue(os.path.exists(os.path.join(env.processed, "medan", "2026-11.xlsx")))
        self.assertEqual([(m["event"], m["state"]) for m in env.outbox()],
                         [("out_of_stock", "sent")])

        # The same workbook again, under another name: a duplicate, no alert.
        env.drop(src, "again.xlsx")
        env.wait_for(lambda: len(env.reports()) == 2 and env.reports()[1][3],
                     "the copy archived")
        self.assertEqual(env.reports()[1][2], "duplicate")
        self.assertTrue(harness.holds_for(lambda: len(maildir_messages(env)) == 1, 1.0))
        env.stop_daemon()

    def test_a_zip_bomb_and_a_protected_workbook_are_rejected_and_the_owner_told(self):
        env = self.serving()
        env.drop(hostile("bomb.xlsx"), "bomb.xlsx")
        env.drop(hostile("protected.xlsx"), "locked.xlsx")
        messages = self.wait_mail(env, 2)
        env.wait_archived(2)
        self.assertEqual(sorted(os.listdir(env.failed)),
                         ["bomb.xlsx", "bomb.xlsx.error.txt", "locked.xlsx",
                          "locked.xlsx.error.txt"])
        self.assertEqual(os.listdir(env.processed), [])

        def error_of(name):
            with open(os.path.join(env.failed, name + ".error.txt"), encoding="utf-8") as f:
                return f.read().strip()
        bomb = ('sheet "Stok": the workbook unpacks to far more than its size '
                "(xl/worksheets/sheet1.xml), as a zip bomb does; save it again from the "
                "spreadsheet program")
        locked = "the workbook is protected with a password; save it without one"
        self.assertEqual(error_of("bomb.xlsx"), bomb)
        self.assertEqual(error_of("locked.xlsx"), locked)

        by_subject = {str(m["Subject"]): m for m in messages}
        self.assertEqual(sorted(by_subject),
                         [f"{SUBJECT} Report rejected: bomb.xlsx",
                          f"{SUBJECT} Report rejected: locked.xlsx"])
        for name, text in (("bomb.xlsx", bomb), ("locked.xlsx", locked)):
            msg = by_subject[f"{SUBJECT} Report rejected: {name}"]
            self.assertEqual(str(msg["To"]), RECIPIENT)
            body = msg.get_content()
            self.assertIn(f"The report {name} was rejected and nothing of it was loaded.", body)
            self.assertIn(text, body)
        self.assertEqual(sorted(m["event"] for m in env.outbox()),
                         ["report_rejected", "report_rejected"])
        self.assertEqual(env.inventory(), {})
        env.stop_daemon()

    def test_a_rejected_workbook_is_explained_in_indonesian(self):
        # [alerts] language = "id": the workbook's own problems, like a CSV
        # report's, are in Indonesian in the .error.txt and the email.
        env = self.make_env()
        env.write_config(smtp_url="")
        with open(env.config, encoding="utf-8") as f:
            text = f.read()
        with open(env.config, "w", encoding="utf-8") as f:
            f.write(text.replace("[alerts]\n", '[alerts]\nlanguage = "id"\n', 1))
        env.start_daemon()
        env.drop(hostile("protected.xlsx"), "locked.xlsx")
        env.drop(hostile("date.xlsx"), "date.xlsx")
        env.drop(hostile("old.xls"), "old.csv")
        messages = self.wait_mail(env, 3)
        env.wait_archived(3)

        def error_of(name):
            with open(os.path.join(env.failed, name + ".error.txt"), encoding="utf-8") as f:
                return f.read().strip()
        locked = "buku kerja dilindungi kata sandi; simpan ulang tanpa kata sandi"
        date = ('lembar "Stok", sel C2: jumlahnya berupa tanggal (45352); ubah format kolom '
                "jumlah menjadi angka, bukan tanggal")
        old = "berkas ini buku kerja Excel versi lama (.xls), bukan CSV; simpan sebagai .xlsx atau CSV"
        self.assertEqual(error_of("locked.xlsx"), locked)
        self.assertEqual(error_of("date.xlsx"), date)
        self.assertEqual(error_of("old.csv"), old)
        by_subject = {str(m["Subject"]): m for m in messages}
        self.assertEqual(sorted(by_subject), ["Laporan ditolak: date.xlsx",
                                              "Laporan ditolak: locked.xlsx",
                                              "Laporan ditolak: old.csv"])
        for name, want in (("locked.xlsx", locked), ("date.xlsx", date), ("old.csv", old)):
            msg = by_subject[f"Laporan ditolak: {name}"]
            body = msg.get_content()
            self.assertIn(f"Laporan {name} ditolak, dan tidak ada isinya yang dimuat.", body)
            self.assertIn(want, body)
            self.assertNotIn("workbook", body)
        env.stop_daemon()

    def test_an_ods_uploaded_over_s3_loads(self):
        soffice = shutil.which("soffice")
        if soffice is None:
            self.skipTest("soffice (libreoffice-calc-nogui) is not installed")
        h = HttpEnv(self, smtp_url="")
        xlsx = write_xlsx(os.path.join(h.env.root, "stok.xlsx"), MEDAN_ROWS)
        profile = os.path.join(h.env.root, "lo-profile")
        subprocess.run([soffice, "-env:UserInstallation=file://" + profile, "--headless",
                        "--convert-to", "ods", "--outdir", h.env.root, xlsx],
                       check=True, capture_output=True, timeout=300,
                       env=dict(os.environ, HOME=profile))
        ods = os.path.join(h.env.root, "stok.ods")
        r = h.aws("s3", "cp", ods, f"s3://{BUCKET}/medan/2026-11.ods", "--no-progress")
        self.assertEqual(r.returncode, 0, r.stderr)
        h.wait_loaded("medan/2026-11.ods")
        self.assertEqual(h.env.inventory(), {(s, i): c for s, i, c in MEDAN_ROWS})
        self.assertTrue(os.path.exists(os.path.join(h.env.processed, "medan", "2026-11.ods")))
        (msg,) = self.wait_mail(h.env, 1)
        self.assertIn(MEDAN_OOS, msg.get_content().splitlines())

        # A key limited to Medan cannot upload a workbook with another store.
        other = write_xlsx(os.path.join(h.env.root, "makassar.xlsx"),
                           [("Makassar", "Toraja", 3)])
        r = h.aws("s3", "cp", other, f"s3://{BUCKET}/makassar.xlsx", key=MEDAN_ONLY)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDenied", r.stderr)
        self.assertIn("row 2 of this report is for store 'Makassar'", r.stderr)
        h.assert_nothing_left()


if __name__ == "__main__":
    unittest.main()

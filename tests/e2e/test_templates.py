"""End to end: `stockwatch template` writes a store's stock-count sheet from
the inventory; spreadsheet programs nobody here wrote (openpyxl, LibreOffice)
see the headers, the frozen header row, the data validation and the notes;
the sheet filled in by openpyxl comes back through the inbox as the store's
report (docs/templates.md)."""

import contextlib
import csv
import datetime
import os
import sqlite3
import shutil
import subprocess
import sys
import unittest

import harness
from harness import sample

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "tests", "support"))
import template_tool  # noqa: E402  (tests/support/template_tool.py, openpyxl)

MEDAN = sample("inventory-medan.csv")


def medan_counts():
    with open(MEDAN, newline="", encoding="utf-8") as f:
        return {r["item"]: int(r["count"]) for r in csv.DictReader(f)}


class TemplateTest(harness.PipelineTestCase):

    def loaded(self):
        """A world whose inventory holds the Medan sample."""
        env = self.make_env()
        env.write_config()
        r = env.run_cli("ingest", "-c", env.config, MEDAN)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return env

    def template(self, env, *args):
        return env.run_cli("template", "-c", env.config, *args)

    # 1 ------------------------------------------------------------------------
    def test_the_sheet_in_english_as_openpyxl_sees_it(self):
        env = self.loaded()
        out = os.path.join(env.root, "medan.xlsx")
        r = self.template(env, "--store", "Medan", "--output", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"wrote {out}: the stock-count sheet of Medan, 6 items; fill "
                                   "in the column \"Count\" and deliver it as the store's report\n")
        sheet = template_tool.inspect(out)
        self.assertEqual(sheet["sheets"], ["Medan"])
        self.assertEqual(sheet["freeze_panes"], "A2")
        self.assertEqual(sheet["header"], ["Store", "Item", "Last count", "Count"])
        counts = medan_counts()
        self.assertEqual(sheet["rows"],
                         [["Medan", item, counts[item], None] for item in sorted(counts)])
        self.assertEqual(sheet["validations"], [{
            "type": "whole", "operator": "greaterThanOrEqual", "formula1": "0",
            "sqref": "D2:D1048576", "error_title": "Count",
            "error": "The count is a whole number, 0 or more: write 0 if the item is out of "
                     "stock.",
            "show_error": True, "error_style": "stop", "allow_blank": True}])
        self.assertEqual(sorted(sheet["notes"]), ["C1", "D1"])
        self.assertIn("not read back", sheet["notes"]["C1"])
        # The reference column is greyed, and every column is wide enough.
        self.assertEqual(sheet["last_count_fill"], "FFF2F2F2")
        self.assertEqual(sheet["last_count_font"], "FF808080")
        self.assertGreaterEqual(sheet["widths"]["B"], len("Arabika Sidikalang"))

    # 2 ------------------------------------------------------------------------
    def test_the_sheet_in_indonesian(self):
        env = self.loaded()
        out = os.path.join(env.root, "medan-id.xlsx")
        r = self.template(env, "--store", "medan", "-o", out, "--language", "id")
        self.assertEqual(r.returncode, 0, r.stderr)
        sheet = template_tool.inspect(out)
        self.assertEqual(sheet["header"], ["Gudang", "Barang", "Hitungan terakhir", "Jumlah"])
        self.assertEqual(sheet["freeze_panes"], "A2")
        self.assertEqual(sheet["validations"][0]["error_title"], "Jumlah")
        self.assertEqual(sheet["validations"][0]["error"],
                         "Jumlah harus bilangan bulat, 0 atau lebih: tulis 0 jika barang habis.")
        self.assertIn("tidak dibaca", sheet["notes"]["C1"])

    # 3 ------------------------------------------------------------------------
    def test_libreoffice_reads_the_same_cells(self):
        soffice = shutil.which("soffice")
        if soffice is None:
            self.skipTest("LibreOffice (libreoffice-calc-nogui) is not installed")
        env = self.loaded()
        out = os.path.join(env.root, "medan.xlsx")
        self.assertEqual(self.template(env, "--store", "Medan", "-o", out).returncode, 0)
        profile = os.path.join(env.root, "lo-profile")
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "csv", "--outdir", env.root, out],
                       check=True, capture_output=True, timeout=180)
        with open(os.path.join(env.root, "medan.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        counts = medan_counts()
        self.assertEqual(rows[0], ["Store", "Item", "Last count", "Count"])
        self.assertEqual(rows[1:], [["Medan", i, str(counts[i]), ""] for i in sorted(counts)])

    # 4 ------------------------------------------------------------------------
    def test_an_unknown_store_and_an_existing_file_are_refused(self):
        env = self.loaded()
        out = os.path.join(env.root, "x.xlsx")
        r = self.template(env, "--store", "Bandung", "-o", out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "stockwatch template: no store \"Bandung\" in the inventory; "
                                   "the stores are: Medan\n")
        self.assertFalse(os.path.exists(out))
        with open(out, "w", encoding="utf-8") as f:
            f.write("keep me")
        r = self.template(env, "--store", "Medan", "-o", out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, f"stockwatch template: {out} exists already; remove it or "
                                   "choose another file (it is never replaced)\n")
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.read(), "keep me")
        r = self.template(env, "--store", "Medan", "-o", out, "--language", "fr")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--language", r.stderr)

    # 5 ------------------------------------------------------------------------
    def test_the_daemon_mails_each_store_its_sheet_at_the_scheduled_time(self):
        """The scheduled time is the latest one before now: the database says
        the one before it was handled, as a month ago, so the daemon sends
        at start, once, and again after a restart sends nothing."""
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        r = env.run_cli("ingest", "-c", env.config, MEDAN)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        env.wait_messages(1)  # the out-of-stock alert of the sample
        with open(env.config, "a", encoding="utf-8") as f:
            f.write('[templates]\nsend = "monthly 1 07:00"\nutc_offset = "+07:00"\n'
                    'language = "id"\n')
        now = datetime.datetime.now(datetime.timezone.utc)
        wib = datetime.timezone(datetime.timedelta(hours=7))
        local = now.astimezone(wib)
        this_month = local.replace(day=1, hour=7, minute=0, second=0, microsecond=0)
        latest = this_month if this_month <= local else (
            (this_month - datetime.timedelta(days=1)).replace(day=1))
        before = (latest - datetime.timedelta(days=1)).replace(day=1)
        with contextlib.closing(sqlite3.connect(env.db)) as db:
            db.execute("INSERT INTO cursors(name, position) VALUES (?, ?)",
                       ("schedule:templates monthly 1 07:00 +07:00",
                        int(before.timestamp() * 1000)))
            db.commit()

        env.start_daemon()
        msgs = env.wait_messages(2)
        eml, sidecar = msgs[1]
        self.assertEqual(sidecar["rcpt_tos"], [harness.RECIPIENT])
        path = os.path.join(env.root, "sheet.eml")
        with open(path, "wb") as f:
            f.write(eml)
        mail = template_tool.read_email(path)
        self.assertEqual(mail["subject"], "Lembar hitung stok untuk Medan")
        self.assertEqual(mail["defects"], [])
        text, sheet = mail["parts"]
        self.assertIn('Isi kolom "Jumlah"', text["text"])
        self.assertEqual(sheet["filename"], "Medan.xlsx")
        self.assertEqual(sheet["content_type"],
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        counts = medan_counts()
        self.assertEqual(sheet["sheet"]["header"],
                         ["Gudang", "Barang", "Hitungan terakhir", "Jumlah"])
        self.assertEqual(sheet["sheet"]["rows"],
                         [["Medan", i, counts[i], None] for i in sorted(counts)])
        self.assertEqual(env.query("SELECT position FROM cursors WHERE name = ?",
                                   ("schedule:templates monthly 1 07:00 +07:00",)),
                         [(int(latest.timestamp() * 1000),)])
        self.assertIn("stock-count sheets for", env.daemon.log())

        env.stop_daemon()
        env.start_daemon()
        env.assert_message_count_stays(2, seconds=2.0)

    # 6 ------------------------------------------------------------------------
    def test_a_filled_sheet_delivered_to_the_inbox_loads_its_counts(self):
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        env.start_daemon()
        env.drop(MEDAN)
        env.wait_archived(1)
        env.wait_messages(1)  # Robusta Dairi is out of stock

        blank = os.path.join(env.root, "medan-blank.xlsx")
        r = self.template(env, "--store", "Medan", "-o", blank)
        self.assertEqual(r.returncode, 0, r.stderr)
        items = sorted(medan_counts())
        new = {item: 100 + n for n, item in enumerate(items)}
        new["Arabika Gayo"] = 0  # now out of stock
        filled = os.path.join(env.root, "medan.xlsx")
        template_tool.fill(blank, filled, [str(new[i]) for i in items])
        env.drop(filled)

        reports = env.wait_archived(2)
        self.assertEqual([r[2] for r in reports], ["loaded", "loaded"])
        self.assertEqual(env.inventory(), {("Medan", i): c for i, c in new.items()})
        msgs = env.wait_messages(2)
        self.assertIn("Medan is out of stock of Arabika Gayo",
                      harness.parse_message(msgs[-1][0]).get_content())


if __name__ == "__main__":
    unittest.main()

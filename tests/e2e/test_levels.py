"""End to end: minimum levels and mutes through the real binary.

A levels file dropped into the inbox sets minimum levels; a later report
that takes a count below its minimum raises a low_stock alert, delivered
to the real SMTP test server (tests/support/smtp_server.py) and read back
with Python's email parser. A levels file with three problems is rejected
whole, with each problem on its line, and the levels before it stay. The
`mute` commands work beside the running daemon.
"""

import os
import unittest
import zipfile

import harness
from harness import RECIPIENT, SUBJECT, parse_message
from test_http import BUCKET, MEDAN_ONLY, HttpEnv

# The smallest workbook a spreadsheet program writes, with inline strings
# (the same parts as tests/support/make_workbooks.py's hand-made ones).
_CT = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
       'content-types"/>')
_WB = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
       '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="Minimum" sheetId="1" r:id="rId1"/></sheets></workbook>')
_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
         '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
         'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
         '</Relationships>')


def write_xlsx(path, rows):
    def cell(ref, value):
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    body = "".join(
        f'<row r="{r}">' + "".join(cell(f"{'ABC'[c]}{r}", v) for c, v in enumerate(values)) +
        "</row>" for r, values in enumerate(rows, start=1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _RELS)
        z.writestr("xl/worksheets/sheet1.xml",
                   '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                   f'spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>')


class LevelsTest(harness.PipelineTestCase):

    def serving(self, alerts=()):
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        if alerts:
            with open(env.config, encoding="utf-8") as f:
                text = f.read()
            text = text.replace("[alerts]\n", "[alerts]\n" + "\n".join(alerts) + "\n", 1)
            with open(env.config, "w", encoding="utf-8") as f:
                f.write(text)
        env.start_daemon()
        return env

    def test_a_levels_file_sets_minimums_and_a_report_raises_low_stock(self):
        env = self.serving()
        env.drop_text("medan-1.csv", "store,item,count\nMedan,Robusta Dairi,10\nMedan,Gayo,10\n")
        env.wait_archived(1)
        # Indonesian headers; the most specific line wins.
        env.drop_text("levels.csv", "gudang,barang,minimum\nMedan,*,4\nMedan,Robusta Dairi,6\n")
        env.wait_archived(2)
        self.assertEqual(env.query("SELECT store, item, minimum FROM levels ORDER BY item"),
                         [("Medan", "*", 4), ("Medan", "Robusta Dairi", 6)])
        self.assertEqual(env.reports()[1][1:3], ("levels.csv", "loaded"))
        env.assert_message_count_stays(0, seconds=0.5)  # 10 is above both minimums

        env.drop_text("medan-2.csv", "store,item,count\nMedan,Robusta Dairi,5\nMedan,Gayo,4\n")
        eml, sidecar = env.wait_messages(1)[0]
        self.assertEqual(sidecar["rcpt_tos"], [RECIPIENT])
        msg = parse_message(eml)
        self.assertEqual(str(msg["Subject"]), f"{SUBJECT} Medan: Robusta Dairi is below minimum")
        body = msg.get_content().splitlines()
        self.assertIn("Medan is low on Robusta Dairi: 5 left, minimum 6", body)
        self.assertFalse([l for l in body if "Gayo" in l], body)  # 4 is its minimum: not low
        env.assert_message_count_stays(1)
        self.assertEqual([m["event"] for m in env.outbox()], ["low_stock"])

    def test_a_levels_file_with_three_problems_is_rejected_with_its_lines(self):
        env = self.serving()
        env.drop_text("levels.csv", "store,item,minimum\nMedan,*,4\n")
        env.wait_archived(1)
        bad = ("store,item,minimum\n"
               "Medan,Robusta,5\n"
               "Medan,Gayo,banyak\n"
               "Medan,Robusta,7\n"
               "Makassar,*,-1\n")
        env.drop_text("levels-new.csv", bad)
        eml, _ = env.wait_messages(1)[0]
        env.wait_archived(2)
        msg = parse_message(eml)
        self.assertEqual(str(msg["Subject"]), f"{SUBJECT} Levels file rejected: levels-new.csv")
        body = msg.get_content()
        self.assertIn("the minimum levels before it stay in force", body)
        problems = [
            "line 3, column minimum: 'banyak' is not a minimum; write a whole number, 0 or more",
            "line 4: store 'Medan' and item 'Robusta' already have a minimum on line 2; keep one "
            "line for them",
            "line 5, column minimum: '-1' is not a minimum; write a whole number, 0 or more",
        ]
        for p in problems:
            self.assertIn(p, body)
        with open(os.path.join(env.failed, "levels-new.csv.error.txt"), encoding="utf-8") as f:
            error_txt = f.read()
        for p in problems:
            self.assertIn(p, error_txt)
        # Rejected whole: the levels before stay.
        self.assertEqual(env.query("SELECT store, item, minimum FROM levels"), [("Medan", "*", 4)])
        self.assertEqual(env.reports()[1][2], "rejected")

    def test_a_levels_workbook_arrives_by_s3_upload(self):
        h = HttpEnv(self, http_lines=['listen = "127.0.0.1:0"', "allow_anonymous_upload = true"],
                    credentials=())
        report = os.path.join(h.env.root, "medan.csv")
        with open(report, "w", encoding="utf-8") as f:
            f.write("store,item,count\nMedan,Robusta,10\n")
        status, _, _ = h.curl("-T", report, f"{h.base}/{BUCKET}/medan.csv")
        self.assertEqual(status, 200)
        h.wait_loaded("medan.csv")
        levels = os.path.join(h.env.root, "levels.xlsx")
        write_xlsx(levels, [["Gudang", "Barang", "Minimum"], ["Medan", "Robusta", 12]])
        status, _, _ = h.curl("-T", levels, f"{h.base}/{BUCKET}/Levels-2026-12.xlsx")
        self.assertEqual(status, 200)
        h.wait_loaded("Levels-2026-12.xlsx")
        self.assertEqual(h.env.query("SELECT store, item, minimum FROM levels"),
                         [("Medan", "Robusta", 12)])
        # Its re-evaluation: 10 is now below 12.
        h.env.wait_for(lambda: h.env.query("SELECT event FROM outbox"), "the low_stock message")
        self.assertEqual(h.env.query("SELECT event FROM outbox"), [("low_stock",)])

    def test_a_key_limited_to_a_store_sets_levels_only_for_it(self):
        h = HttpEnv(self)  # an admin key, and a key for Medan only
        every = os.path.join(h.env.root, "every.csv")
        with open(every, "w", encoding="utf-8") as f:
            f.write("store,item,minimum\nMedan,*,5\n*,Robusta,9\n")
        status, _, body = h.signed_put("levels.csv", every, key=MEDAN_ONLY)
        self.assertEqual(status, 403, body)
        self.assertIn(b"AccessDenied", body)
        medan = os.path.join(h.env.root, "medan.csv")
        with open(medan, "w", encoding="utf-8") as f:
            f.write("store,item,minimum\nMedan,*,5\n")
        status, _, body = h.signed_put("levels.csv", medan, key=MEDAN_ONLY)
        self.assertEqual(status, 200, body)
        h.wait_loaded("levels.csv")
        self.assertEqual(h.env.query("SELECT store, item, minimum FROM levels"), [("Medan", "*", 5)])

    def test_mute_commands_work_beside_the_running_daemon(self):
        env = self.serving(alerts=["still_out_every_days = 7"])
        r = env.run_cli("mute", "-c", env.config, "--store", "Medan", "--item", "Robusta",
                        "--until", "2099-01-31")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "muted Robusta in Medan until 2099-01-31 00:00 UTC\n")
        r = env.run_cli("mute", "-c", env.config, "--store", "Makassar", "--until-change")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = env.run_cli("mute", "-c", env.config, "--list")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertTrue(lines[0].startswith("every item of Makassar: muted until its count changes"),
                        lines[0])
        self.assertTrue(lines[1].startswith("Robusta in Medan: muted until 2099-01-31 00:00 UTC"),
                        lines[1])
        # A muted item raises nothing; the daemon reads the mutes as it runs.
        env.drop_text("medan.csv", "store,item,count\nMedan,Robusta,0\nMedan,Gayo,0\n")
        eml, _ = env.wait_messages(1)[0]
        env.wait_archived(1)
        self.assertEqual(str(parse_message(eml)["Subject"]), f"{SUBJECT} Medan: Gayo is out of stock")
        env.assert_message_count_stays(1)

        r = env.run_cli("unmute", "-c", env.config, "--store", "Makassar")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = env.run_cli("unmute", "-c", env.config, "--store", "Makassar")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing is muted", r.stderr)
        r = env.run_cli("mute", "-c", env.config, "--store", "Medan")
        self.assertEqual(r.returncode, 1)
        self.assertIn("exactly one of --until DATE or --until-change", r.stderr)
        r = env.run_cli("mute", "-c", env.config, "--store", "Medan", "--until", "31/12/2099")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a date", r.stderr)
        env.stop_daemon()


if __name__ == "__main__":
    unittest.main()

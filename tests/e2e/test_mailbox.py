"""End to end: reports by email (docs/inbox.md, "Sending by email").

A real Dovecot (tests/support/imap_server.py) runs unprivileged on a
loopback port with the test's own certificate; mails are written with
Python's `email` package and APPENDed over IMAP; the daemon reads them over
imaps://, loads their attachments through the inbox, and its replies are
caught by the real SMTP test server."""

import contextlib
import email.message
import email.policy
import email.utils
import io
import json
import os
import re
import signal
import socket
import sqlite3
import sys
import time
import unittest
import urllib.request

import harness
from harness import toml_str

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "tests", "support"))
import imap_server  # noqa: E402

try:
    import openpyxl
except ImportError:  # pragma: no cover - reported as a skip below
    openpyxl = None

# The browser as the console's own tests drive it (the module, not its
# test case, so that its tests do not run here too).
import test_console  # noqa: E402
from test_console import CHROMEDRIVER, SCREENSHOTS, webdriver  # noqa: E402

if webdriver is not None:
    from selenium.webdriver.common.by import By
TOKEN = "api-token-mailbox"
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

MEDAN = "gudang.medan@example.com"
BINJAI = "gudang.binjai@example.com"
MAILBOX = "stok@example.com"
HANDLED = "$StockwatchDone"

GOOD_CSV = b"store,item,count\nMedan,Robusta Dairi,0\nMedan,Arabika Gayo,12\n"
BAD_CSV = b"store,item,count\nMedan,Robusta Dairi,5\nMedan,Arabika Gayo,1O\nMedan,Liberika,-3\n"


def mail(sender, subject="Laporan stok", attachments=(), body="Terlampir laporan bulan ini.",
         headers=None):
    m = email.message.EmailMessage()
    m["From"] = sender
    m["To"] = MAILBOX
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = email.utils.make_msgid(domain="example.com")
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    for name, data, maintype, subtype in attachments:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m


def csv_attachment(name, data):
    return (name, data, "text", "csv")


def xlsx_attachment(name, rows):
    """A workbook as openpyxl writes it, with the Indonesian column names."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Stok"
    ws.append(["Gudang", "Barang", "Jumlah"])
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return (name, out.getvalue(), *XLSX)


@unittest.skipUnless(imap_server.available(), "needs dovecot-imapd and openssl")
class MailboxTest(harness.PipelineTestCase):

    def setUp(self):
        self.env = self.make_env()
        self.imap = imap_server.ImapServer(self.env.root)
        self.addCleanup(self.imap.stop)
        self.env.start_smtp()
        self.write_config()

    def write_config(self, extra=(), poll_interval_s=1, http=False, url=None, password_file=None,
                     senders_extra=()):
        self.env.write_config()
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write("\n".join([
                "",
                *(["[http]", 'listen = "127.0.0.1:0"', f"token = {toml_str(TOKEN)}", ""]
                  if http else []),
                "[mailbox]",
                f"url = {toml_str(self.imap.url if url is None else url)}",
                f"username = {toml_str(imap_server.USER)}",
                f"password_file = {toml_str(password_file or self.password_file())}",
                f"ca_file = {toml_str(self.imap.cert)}",
                f"poll_interval_s = {poll_interval_s}",
                f"from = {toml_str(MAILBOX)}",
                *extra,
                "",
                "[[mailbox.sender]]",
                f"address = {toml_str(MEDAN)}",
                'stores = ["Medan"]',
                'language = "id"',
                "",
                "[[mailbox.sender]]",
                f"address = {toml_str(BINJAI)}",
                "",
                *senders_extra,
                "",
            ]))

    def password_file(self):
        path = os.path.join(self.env.root, "imap-password")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(imap_server.PASSWORD + "\n")
            os.chmod(path, 0o600)
        return path

    def tearDown(self):
        self._saved_logs = self.env.logs() + "\n--- dovecot ---\n" + self.imap.log()

    # --- helpers ---------------------------------------------------------------

    def replies(self, to=None):
        """The replies the SMTP server received (not the alerts), parsed."""
        out = []
        for eml, _ in self.env.smtp.messages():
            msg = harness.parse_message(eml)
            if msg.get("Auto-Submitted") != "auto-replied":
                continue
            if to and to not in str(msg["To"]):
                continue
            out.append(msg)
        return out

    def wait_replies(self, n, to=None, timeout=30):
        return harness.wait_for(lambda: len(self.replies(to)) >= n and self.replies(to),
                                f"{n} repl(y/ies)", timeout=timeout)

    def handled_count(self):
        return sum(1 for flags in self.imap.flags().values() if HANDLED in flags)

    def wait_handled(self, n, timeout=30):
        harness.wait_for(lambda: self.handled_count() >= n, f"{n} mail(s) handled",
                         timeout=timeout)

    def base_url(self):
        m = re.search(r"http: listening on \S+ \(port (\d+)\)", self.env.daemon.log())
        self.assertIsNotNone(m, self.env.daemon.log())
        return f"http://127.0.0.1:{m.group(1)}"

    def get(self, path, token=TOKEN):
        req = urllib.request.Request(self.base_url() + path,
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get_json(self, path):
        return json.loads(self.get(path)[1])

    def metric(self, name):
        """The value of one sample ('name{labels}') in /metrics, 0 if absent."""
        for line in self.get("/metrics")[1].splitlines():
            key, _, value = line.rpartition(" ")
            if key == name:
                return float(value)
        return 0.0

    # --- tests -----------------------------------------------------------------

    @unittest.skipIf(openpyxl is None, "needs python3-openpyxl")
    def test_an_xlsx_attachment_loads_and_shows_where_it_came_from(self):
        self.write_config(http=True)
        self.env.start_daemon()
        m = mail(MEDAN, subject="Laporan stok November", attachments=[xlsx_attachment(
            "medan-nov.xlsx", [("Medan", "Robusta Dairi", 0), ("Medan", "Arabika Gayo", 12)])])
        self.imap.append(m.as_bytes())
        raw = None
        harness.wait_for(lambda: self.replies(MEDAN), "the reply", timeout=30)
        for eml, _ in self.env.smtp.messages():
            if b"auto-replied" in eml:
                raw = eml
        # The reply as a mail program reads it: Python's email package, strict policy.
        reply = email.message_from_bytes(raw, policy=email.policy.strict)
        self.assertEqual(reply["In-Reply-To"], m["Message-ID"])
        self.assertEqual(reply["Subject"], "Re: Laporan stok November")
        self.assertEqual(reply["To"], MEDAN)
        self.assertEqual(reply["From"].addresses[0].addr_spec, MAILBOX)
        plain = reply.get_body(preferencelist=("plain",))
        self.assertEqual(plain.get_content_charset(), "utf-8")
        self.assertEqual(reply.defects, [])
        body = plain.get_content()
        self.assertIn("medan-nov.xlsx: berhasil dimuat, 2 baris (laporan 1).", body)
        self.assertIn("Robusta Dairi", body)
        for line in body.splitlines():
            self.assertLessEqual(len(line.encode()), 998)
        self.wait_handled(1)
        self.assertEqual(self.env.inventory(),
                         {("Medan", "Arabika Gayo"): 12, ("Medan", "Robusta Dairi"): 0})

        # /api/reports names the mail each report came in.
        items = self.get_json("/api/reports")["items"]
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["mail"], {"from": MEDAN,
                                            "message_id": m["Message-ID"].strip("<>"),
                                            "attachment": "medan-nov.xlsx"})
        # A report dropped in the folder has none.
        self.env.drop_text("medan-dec.csv", "store,item,count\nMedan,Liberika,3\n")
        harness.wait_for(lambda: len(self.get_json("/api/reports")["items"]) == 2,
                         "the folder's report")
        self.assertIsNone(self.get_json("/api/reports")["items"][0]["mail"])
        # The ledger keeps how each arrived.
        self.assertEqual(self.env.query("SELECT arrived_by FROM reports ORDER BY id"),
                         [("email",), ("folder",)])
        self.assertEqual([i["arrived_by"] for i in self.get_json("/api/reports")["items"]],
                         ["folder", "email"])

        # /readyz shows the mailbox; /metrics counts what it did.
        status, text = self.get("/readyz")
        self.assertEqual(status, 200, text)
        box = json.loads(text)["components"]["mailbox"]
        self.assertEqual(box["state"], "ok")
        self.assertEqual(box["waits_with"], "idle")
        self.assertIn("127.0.0.1", box["via"])
        self.assertIsNotNone(box["last_look_at"])
        self.assertEqual(self.metric('stockwatch_mailbox_mails_total{result="seen"}'), 1)
        self.assertEqual(self.metric('stockwatch_mailbox_mails_total{result="refused"}'), 0)
        self.assertEqual(self.metric("stockwatch_mailbox_attachments_loaded_total"), 1)
        self.assertEqual(self.metric("stockwatch_mailbox_replies_queued_total"), 1)
        self.assertEqual(self.metric("stockwatch_mailbox_imap_errors_total"), 0)
        print("\n--- the reply to the workbook, as parsed ---\n" + str(reply))

    def test_sighup_takes_a_new_url_password_file_and_sender(self):
        # Start with the wrong port and a wrong password: every look fails.
        wrong = os.path.join(self.env.root, "wrong-password")
        with open(wrong, "w") as f:
            f.write("not-the-password\n")
        os.chmod(wrong, 0o600)
        with socket.socket() as probe:   # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        self.write_config(http=True, url=f"imaps://127.0.0.1:{closed}/INBOX",
                          password_file=wrong)
        self.env.start_daemon()
        harness.wait_for(lambda: self.get_json("/readyz")["components"]["mailbox"]["state"]
                         == "failing", "the mailbox failing")
        status, text = self.get("/readyz")
        self.assertEqual(status, 200, "a failing mailbox does not make the daemon unready")
        harness.wait_for(lambda: self.metric("stockwatch_mailbox_imap_errors_total") >= 1,
                         "an IMAP error counted")
        lampung = "gudang.lampung@example.com"
        self.imap.append(mail(lampung, attachments=[csv_attachment(
            "lampung.csv", b"store,item,count\nLampung,Robusta Lampung,0\n")]).as_bytes())

        # The right URL, a new password file and a new sender, without a restart.
        pid = self.env.daemon.proc.pid
        self.write_config(http=True, senders_extra=[
            "[[mailbox.sender]]", f"address = {toml_str(lampung)}", 'stores = ["Lampung"]'])
        start = time.monotonic()
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        reply = self.wait_replies(1, to=lampung)[0]
        print(f"\nreply {time.monotonic() - start:.2f} s after the SIGHUP that fixed the mailbox")
        body = reply.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("lampung.csv: loaded, 1 row", body)
        self.assertEqual(self.env.daemon.proc.pid, pid)
        self.assertIsNone(self.env.daemon.proc.poll())
        self.assertEqual(self.env.inventory(), {("Lampung", "Robusta Lampung"): 0})
        harness.wait_for(lambda: self.get_json("/readyz")["components"]["mailbox"]["state"]
                         == "ok", "the mailbox working")
        self.assertIn("SIGHUP: mailbox: reading", self.env.daemon.log())
        # Emptying the url stops reading; nothing else is answered.
        self.write_config(http=True, url="")
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "mailbox" not in self.get_json("/readyz")["components"],
                         "the mailbox off")
        self.imap.append(mail(BINJAI, attachments=[csv_attachment(
            "b.csv", b"store,item,count\nBinjai,x,1\n")]).as_bytes())
        harness.holds_for(lambda: len(self.replies()) == 1, seconds=2.5)
        # Set again: the mail that came meanwhile is answered.
        self.write_config(http=True)
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        self.wait_replies(1, to=BINJAI)
        self.assertEqual(self.env.daemon.proc.pid, pid)

    def test_a_mailbox_first_set_by_a_reload_starts_reading(self):
        self.write_config(http=True, url="")
        self.env.start_daemon()
        self.assertNotIn("mailbox", self.get_json("/readyz")["components"])
        self.imap.append(mail(BINJAI, attachments=[csv_attachment(
            "b.csv", b"store,item,count\nBinjai,x,1\n")]).as_bytes())
        self.write_config(http=True)
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        body = self.wait_replies(1, to=BINJAI)[0].get_body(preferencelist=("plain",)).get_content()
        self.assertIn("b.csv: loaded, 1 row", body)
        self.assertEqual(self.get_json("/readyz")["components"]["mailbox"]["state"], "ok")

    def mailbox_state(self):
        """The mailbox's state in /readyz, None while it has none."""
        return self.get_json("/readyz")["components"].get("mailbox", {}).get("state")

    def set_schema_version(self, version):
        """Writes the database's schema version; returns the one it had."""
        with contextlib.closing(sqlite3.connect(self.env.db, timeout=10)) as db:
            before = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute(f"PRAGMA user_version = {int(version)}")
            db.commit()
        return before

    def test_a_mailbox_set_by_a_reload_while_the_database_cannot_be_opened_starts_once_it_can(self):
        self.write_config(http=True, url="")
        self.env.start_daemon()
        # A newer schema version than this stockwatch knows: a new connection
        # is refused, while the daemon's open ones (which checked it when
        # they opened) go on.
        version = self.set_schema_version(9999)
        self.imap.append(mail(BINJAI, attachments=[csv_attachment(
            "b.csv", b"store,item,count\nBinjai,x,1\n")]).as_bytes())
        self.write_config(http=True)
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: self.mailbox_state() == "failing", "the mailbox failing")
        harness.wait_for(lambda: self.env.daemon.log().count(
            "mailbox: cannot open the database") >= 1, "the failure logged")
        self.assertRegex(self.env.daemon.log(), r"mailbox: cannot open the database: .*newer "
                         r"than this stockwatch understands.*; trying again in 1 s")
        self.assertTrue(harness.holds_for(lambda: len(self.replies()) == 0, seconds=2.5))
        # Tried again every poll interval, but logged once while it is the same.
        self.assertEqual(self.env.daemon.log().count("mailbox: cannot open the database"), 1)

        self.set_schema_version(version)
        body = self.wait_replies(1, to=BINJAI)[0].get_body(preferencelist=("plain",)).get_content()
        self.assertIn("b.csv: loaded, 1 row", body)
        harness.wait_for(lambda: self.mailbox_state() == "ok", "the mailbox working")
        self.assertIn("mailbox: the database opened", self.env.daemon.log())
        self.assertIsNone(self.env.daemon.proc.poll())

    @unittest.skipIf(webdriver is None or not os.path.exists(CHROMEDRIVER),
                     "needs chromium, chromium-driver and python3-selenium")
    def test_the_console_shows_a_report_came_by_email(self):
        self.write_config(http=True)
        self.env.start_daemon()
        m = mail(MEDAN, attachments=[csv_attachment("medan-nov.csv", GOOD_CSV)])
        self.imap.append(m.as_bytes())
        self.wait_replies(1, to=MEDAN)
        self.env.drop_text("binjai.csv", "store,item,count\nBinjai,Arabika Gayo,4\n")
        harness.wait_for(lambda: len(self.env.reports()) == 2, "both reports")

        driver = test_console.browser(self.env.root)
        self.addCleanup(driver.quit)
        os.makedirs(SCREENSHOTS, exist_ok=True)
        link = re.search(r"console: no owner yet; .* at (http://\S+/_console/setup\?token=[0-9a-f]{64})",
                         self.env.daemon.log()).group(1)
        driver.get(link)
        driver.find_element(By.ID, "name").send_keys("owner")
        driver.find_element(By.ID, "password").send_keys("kopi-tubruk-2024")
        driver.find_element(By.ID, "password2").send_keys("kopi-tubruk-2024")
        driver.find_element(By.CSS_SELECTOR, "form[action='/_console/setup'] button[type=submit]").click()
        harness.wait_for(lambda: driver.current_url.endswith("/_console/"), "the overview")

        def shot(name):
            for size, (w, h) in (("desktop", (1280, 900)), ("phone", (390, 844))):
                driver.set_window_size(w, h)
                driver.save_screenshot(os.path.join(SCREENSHOTS, f"mailbox-{name}-{size}.png"))
                self.assertLessEqual(driver.execute_script("return document.documentElement.scrollWidth"),
                                     driver.execute_script("return window.innerWidth"), name)
            driver.set_window_size(1280, 900)

        base = self.base_url()
        driver.get(base + "/_console/reports")
        rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr")]
        self.assertEqual(len(rows), 2, rows)
        self.assertIn("by email from " + MEDAN, rows[1])
        self.assertNotIn("by email", rows[0])
        shot("reports")
        driver.get(base + "/_console/reports/1")
        text = driver.find_element(By.TAG_NAME, "body").text
        self.assertIn("Sent by email", text)
        self.assertIn(MEDAN, text)
        self.assertIn(m["Message-ID"], text)
        self.assertIn("medan-nov.csv", text)
        shot("report")
        driver.get(base + "/_console/status")
        text = driver.find_element(By.TAG_NAME, "body").text
        self.assertIn("Reports by email", text)
        self.assertIn("new mail is seen at once (IMAP IDLE)", text)
        shot("status")
        # The same in Bahasa Indonesia.
        driver.find_element(By.CSS_SELECTOR,
                            "form[action='/_console/language'] button[type=submit]").click()
        harness.wait_for(lambda: "Laporan" in driver.find_element(By.TAG_NAME, "body").text,
                         "the pages in Bahasa Indonesia")
        driver.get(base + "/_console/reports")
        rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr")]
        self.assertIn("lewat email dari " + MEDAN, rows[1])
        shot("reports-id")
        driver.get(base + "/_console/status")
        self.assertIn("email baru langsung terlihat (IMAP IDLE)",
                      driver.find_element(By.TAG_NAME, "body").text)
        shot("status-id")

    def test_a_csv_attachment_loads_and_the_reply_answers_the_mail(self):
        self.env.start_daemon()
        m = mail(BINJAI, subject="Stock report November",
                 attachments=[csv_attachment("binjai-nov.csv",
                                             b"store,item,count\nBinjai,Robusta Dairi,0\n"
                                             b"Binjai,Arabika Gayo,7\n")])
        self.imap.append(m.as_bytes())
        reply = self.wait_replies(1, to=BINJAI)[0]
        self.assertEqual(reply["In-Reply-To"], m["Message-ID"])
        self.assertIn(m["Message-ID"], reply["References"])
        self.assertEqual(reply["Subject"], "Re: Stock report November")
        body = reply.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("binjai-nov.csv: loaded, 2 rows (report 1).", body)
        self.assertIn("Binjai is out of stock of Robusta Dairi", body)
        self.wait_handled(1)
        self.assertEqual(self.env.inventory(),
                         {("Binjai", "Arabika Gayo"): 7, ("Binjai", "Robusta Dairi"): 0})
        # The ledger knows where it came from; the archive has it.
        rows = self.env.query("SELECT r.sender, r.message_id, a.name, a.report_id "
                              "FROM mail_attachments a JOIN mail_receipts r USING (mail_key)")
        self.assertEqual(rows, [(BINJAI, m["Message-ID"].strip("<>"), "binjai-nov.csv", 1)])
        harness.wait_for(lambda: self.env.query("SELECT archived_path FROM reports")[0][0],
                         "the report archived")
        archived = self.env.query("SELECT archived_path FROM reports")[0][0]
        self.assertTrue(os.path.exists(os.path.join(self.env.processed, archived))
                        or os.path.exists(archived), archived)
        # Nothing more, whatever the next looks find.
        harness.holds_for(lambda: len(self.replies()) == 1, seconds=2.5)
        print("\n--- the reply, as the manager reads it ---\n" + str(reply))

    def test_with_idle_a_mail_is_seen_in_seconds(self):
        # Looking only every 10 minutes: the reply within seconds comes from IDLE.
        self.write_config(poll_interval_s=600)
        self.env.start_daemon()
        time.sleep(1)   # let the first look end and IDLE begin (not a synchronisation)
        start = time.monotonic()
        self.imap.append(mail(BINJAI, attachments=[csv_attachment(
            "b.csv", b"store,item,count\nBinjai,x,1\n")]).as_bytes())
        self.wait_replies(1, to=BINJAI, timeout=20)
        print(f"\nreply {time.monotonic() - start:.2f} s after the APPEND (poll interval 600 s)")
        self.env.stop_daemon()   # SIGTERM ends the IDLE wait at once

    def test_a_rejected_report_is_answered_line_by_line_in_indonesian(self):
        self.env.start_daemon()
        m = mail(MEDAN, attachments=[csv_attachment("medan.csv", BAD_CSV)])
        self.imap.append(m.as_bytes())
        reply = self.wait_replies(1, to=MEDAN)[0]
        self.assertEqual(reply["In-Reply-To"], m["Message-ID"])
        body = reply.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("medan.csv: ditolak", body)
        self.assertIn("baris 3, kolom count: '1O' bukan bilangan bulat", body)
        self.assertIn("baris 4, kolom count: '-3' negatif", body)
        self.assertIn("Perbaiki berkasnya, lalu kirim lagi.", body)
        self.assertEqual(self.env.inventory(), {})
        print("\n--- the rejection, as the manager reads it ---\n" + body)

    def test_a_stranger_is_refused_once_and_loads_nothing(self):
        self.env.start_daemon()
        m = mail("someone@example.org", attachments=[csv_attachment("r.csv", GOOD_CSV)])
        self.imap.append(m.as_bytes())
        reply = self.wait_replies(1, to="someone@example.org")[0]
        body = reply.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("takes stock reports only from the warehouse managers", body)
        self.wait_handled(1)
        self.env.stop_daemon()
        self.env.start_daemon()   # a restart does not answer it again
        harness.holds_for(lambda: len(self.replies()) == 1, seconds=2.5)
        self.assertEqual(self.env.inventory(), {})
        self.assertEqual(self.env.reports(), [])

    def test_kill_between_loading_and_marking_loads_once_and_replies_once(self):
        self.env.start_daemon()
        m = mail(MEDAN, attachments=[csv_attachment("medan.csv", GOOD_CSV)])
        self.imap.append(m.as_bytes())
        harness.wait_for(lambda: self.env.query("SELECT count(*) FROM reports "
                                                "WHERE status = 'loaded'")[0][0] == 1,
                         "the attachment loaded", timeout=30, interval=0.005)
        self.env.daemon.proc.send_signal(signal.SIGKILL)
        self.env.daemon.proc.wait()
        state = self.env.query("SELECT state FROM mail_receipts")
        handled_at_kill = self.handled_count()
        print(f"\nat the kill: mail {state}, {handled_at_kill} handled on the server")
        self.env.start_daemon()
        self.wait_replies(1, to=MEDAN)
        self.wait_handled(1)
        harness.holds_for(lambda: len(self.replies()) == 1, seconds=2.5)
        self.assertEqual(self.env.query("SELECT count(*) FROM reports")[0][0], 1)
        self.assertEqual(self.env.query("SELECT state FROM mail_receipts"), [("answered",)])

    def test_bad_input_never_crashes_hangs_or_answers_twice(self):
        self.env.start_daemon()
        expect_reply = {}   # Message-ID -> text the reply must hold
        no_reply = []

        def add(m, must_contain=None):
            self.imap.append(m.as_bytes() if hasattr(m, "as_bytes") else m)
            if must_contain is None:
                no_reply.append(m)
            else:
                expect_reply[m["Message-ID"]] = must_contain

        # A mail with no report: how to send one.
        add(mail(BINJAI, body="store,item,count\nBinjai,a,1\n"), "No report was attached")
        # A zip.
        add(mail(BINJAI, attachments=[("reports.zip", b"PK\x05\x06" + b"\0" * 18, "application",
                                       "zip")]), "reports.zip: not a report")
        # 100 attachments.
        many = [csv_attachment(f"r{i:03}.csv",
                               f"store,item,count\nBinjai,item {i},{i}\n".encode())
                for i in range(100)]
        add(mail(BINJAI, subject="seratus", attachments=many), "r099.csv: loaded, 1 row")
        # Encoded file names (RFC 2231 by Python's email package) and an odd charset.
        odd = mail(BINJAI, subject="Laporan gudang \u00fcber \u2615", attachments=[
            csv_attachment("gudang \u00fcber \u2615.csv",
                           "store,item,count\nBinjai,Kopi \u00e9,4\n".encode())])
        add(odd, "gudang \u00fcber \u2615.csv: loaded, 1 row")
        # An RFC 2047 file name, a Latin-1 body.
        raw2047 = (
            "From: " + BINJAI + "\r\nTo: " + MAILBOX + "\r\nSubject: =?ISO-8859-1?Q?r=E9sum=E9?=\r\n"
            "Message-ID: <rfc2047@example.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
            "--zz\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nVoil\xe0\r\n"
            "--zz\r\nContent-Type: text/csv; name=\"=?UTF-8?B?bGFwb3JhbsKgMjA0Ny5jc3Y=?=\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            "c3RvcmUsaXRlbSxjb3VudApCaW5qYWksMjA0NywxCg==\r\n--zz--\r\n").encode("latin-1")
        self.imap.append(raw2047)
        expect_reply["<rfc2047@example.com>"] = "2047.csv: loaded, 1 row"
        # A forwarded mail (message/rfc822) with a report inside.
        inner = mail(BINJAI, attachments=[csv_attachment("inside.csv",
                                                         b"store,item,count\nBinjai,inner,2\n")])
        outer = mail(BINJAI, subject="Fwd: laporan")
        outer.add_attachment(inner)
        add(outer, "inside.csv: loaded, 1 row")
        # Broken MIME: a boundary that never ends, base64 that is not.
        broken = ("From: " + BINJAI + "\r\nTo: " + MAILBOX + "\r\nSubject: rusak\r\n"
                  "Message-ID: <broken@example.com>\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/mixed; boundary=\"never\"\r\n\r\n"
                  "--never\r\nContent-Type: text/csv; name=\"rusak.csv\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n!!!@@@###\r\n").encode()
        self.imap.append(broken)
        expect_reply["<broken@example.com>"] = "rusak.csv"
        # Auto-replies and bounces: never answered.
        add(mail(BINJAI, subject="Out of office", headers={"Auto-Submitted": "auto-replied"}))
        add(mail("someone@example.org", subject="Re: Re: Laporan",
                 headers={"Precedence": "bulk"}))
        add(mail("MAILER-DAEMON@example.org", subject="Undelivered Mail",
                 headers={"Return-Path": "<>"}))
        # A 50 MB attachment: a clear reply, nothing loaded.
        big = b"store,item,count\n" + b"Binjai,filler item name here,1\n" * (51 * 1024 * 1024 // 31)
        add(mail(BINJAI, subject="besar", attachments=[csv_attachment("besar.csv", big)]),
            "besar.csv: not read: it is 51.0 MB, and the limit is 50 MB")

        total = len(expect_reply) + len(no_reply)
        self.wait_handled(total, timeout=120)
        harness.wait_for(lambda: len(self.replies()) >= len(expect_reply),
                         "every reply", timeout=60)
        harness.holds_for(lambda: len(self.replies()) == len(expect_reply), seconds=3)
        by_id = {r["In-Reply-To"]: r for r in self.replies()}
        self.assertEqual(set(by_id), set(expect_reply))
        for mid, text in expect_reply.items():
            body = by_id[mid].get_body(preferencelist=("plain",)).get_content()
            self.assertIn(text, body, f"reply to {mid}")
        self.assertIsNone(self.env.daemon.proc.poll(), "the daemon is still running")
        # Not one row of the big one.
        self.assertFalse(any("filler" in item for _, item in self.env.inventory()))
        print("\n--- the reply to 100 attachments (start) ---\n" +
              by_id[[k for k, v in expect_reply.items() if "r099" in v][0]]
              .get_body(preferencelist=("plain",)).get_content()[:600])


if __name__ == "__main__":
    unittest.main()

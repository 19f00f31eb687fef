"""End to end: alert emails as recipients get them, through real SMTP servers.

Every test runs the real binary (`stockwatch ingest`, `serve`,
`send-test-email`, `outbox`) against tests/support/smtp_server.py
(aiosmtpd) on a free loopback port: plain, with STARTTLS, with TLS from the
first byte, with AUTH, with temporary (451) and permanent (550) refusals.
The certificates are made here with the `openssl` command: a throw-away CA
and a server certificate for localhost and 127.0.0.1. One test also
delivers through OpenSMTPD, a second, independent mail server, started in a
private mount namespace so that a system OpenSMTPD does not stop it (as
root, with Debian's opensmtpd package; if it cannot run, it says why).
"""

import contextlib
import email.policy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import PYTHON, SMTP_SERVER_SCRIPT, parse_message, toml_str, wait_for

SENDER = "stockwatch@example.com"
OWNER = "owner@example.com"
SUBJECT = "Inventory Alert!"
CIKARANG = "Gudang Cikarang \u2014 Jawa"
TORAJA = "Kopi Toraja \u201cSapan\u201d \u2615"
FOOTER = re.compile(r"^Report: (.+) \(report (\d+)\), loaded \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")

_CERTS = {}


def setUpModule():
    """A CA and a server certificate (localhost, 127.0.0.1) for every test."""
    d = tempfile.mkdtemp(prefix="stockwatch-certs-")
    _CERTS["dir"] = d

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=stockwatch test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    # RSA for the server: OpenSMTPD 6.8 with OpenSSL 3 fails TLS with an EC key.
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    with open(os.path.join(d, "server.ext"), "w", encoding="ascii") as f:
        f.write("subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                "basicConstraints = CA:FALSE\n"
                "keyUsage = critical, digitalSignature\n"
                "extendedKeyUsage = serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    for name in ("ca.pem", "server.pem", "server.key"):
        _CERTS[name] = os.path.join(d, name)
    # OpenSMTPD reads its key as an unprivileged user in some set-ups.
    os.chmod(d, 0o755)


def tearDownModule():
    shutil.rmtree(_CERTS.get("dir", "/nonexistent"), ignore_errors=True)


class Server(harness.SmtpServer):
    """smtp_server.py with every option (TLS, AUTH, 451, 550)."""

    def __init__(self, workdir, name="received", fail_451=0, reject=(), auth=None,
                 tls=False, implicit_tls=False, no_starttls=False, auth_mechanisms=None,
                 hold_file=None, port=0):
        self.outdir = os.path.join(workdir, name)
        os.makedirs(self.outdir, exist_ok=True)
        self.log_path = os.path.join(workdir, f"{name}.log")
        ready = os.path.join(workdir, f"{name}.ready")
        args = [PYTHON, SMTP_SERVER_SCRIPT, "--port", str(port), "--outdir", self.outdir,
                "--ready-file", ready]
        if fail_451:
            args += ["--fail-451", str(fail_451)]
        for r in reject:
            args += ["--reject", r]
        if auth:
            args += ["--auth", auth]
        if auth_mechanisms:
            args += ["--auth-mechanisms", auth_mechanisms]
        if hold_file:
            args += ["--hold-file", hold_file]
        if tls or implicit_tls:
            args += ["--tls-cert", _CERTS["server.pem"], "--tls-key", _CERTS["server.key"]]
        if implicit_tls:
            args.append("--implicit-tls")
        if no_starttls:
            args.append("--no-starttls")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        def started():
            if self.proc.poll() is not None:
                raise AssertionError(f"the SMTP server exited:\n{self.log()}")
            with open(ready, encoding="ascii") as f:
                return f.read().strip()

        self.port = int(wait_for(started, "the SMTP test server to start"))

    def attempts(self):
        try:
            with open(os.path.join(self.outdir, "attempts.jsonl"), encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def parsed(self):
        """[(message, sidecar)] with the message parsed (policy.default)."""
        return [(parse_message(eml), side) for eml, side in self.messages()]


class AlertsTestCase(harness.PipelineTestCase):

    def setUp(self):
        self.env = self.make_env()
        self.reports = os.path.join(self.env.root, "reports")
        os.makedirs(self.reports)

    # --- set-up ---------------------------------------------------------------

    def server(self, **kwargs):
        s = Server(self.env.root, **kwargs)
        self.env._servers.append(s)
        self.env.smtp = s
        return s

    def configure(self, url, subscriptions=((OWNER, None, None),), alerts=(), smtp=()):
        """Writes the config. subscriptions: (email(s), stores, events)."""
        e = self.env
        lines = [
            "[storage]", f"database = {toml_str(e.db)}", "",
            "[inbox]", f"path = {toml_str(e.inbox)}", f"processed = {toml_str(e.processed)}",
            f"failed = {toml_str(e.failed)}", "settle_ms = 200", "",
            "[alerts]", f"from = {toml_str(SENDER)}", f"subject = {toml_str(SUBJECT)}",
            *alerts, "",
        ]
        for emails, stores, events in subscriptions:
            lines.append("[[alerts.subscription]]")
            lines.append(f"email = {json.dumps(emails)}")
            if stores is not None:
                lines.append(f"stores = {json.dumps(stores)}")
            if events is not None:
                lines.append(f"events = {json.dumps(events)}")
            lines.append("")
        defaults = ["connect_timeout_s = 5", "timeout_s = 10", "retry_initial_s = 1",
                    "retry_max_s = 2"]
        given = {line.split("=")[0].strip() for line in smtp}
        lines += [
            "[smtp]", f"url = {toml_str(url)}", f"maildir = {toml_str(e.maildir)}",
            *[d for d in defaults if d.split("=")[0].strip() not in given], *smtp, "",
        ]
        with open(e.config, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))

    def plain(self, server):
        return f"smtp://127.0.0.1:{server.port}"

    def report(self, name, text):
        path = os.path.join(self.reports, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return os.path.join("reports", name)

    def cli(self, *args, env=None, timeout=60):
        full_env = dict(os.environ)
        full_env.pop("STOCKWATCH_SMTP_PASSWORD", None)
        full_env.pop("CREDENTIALS_DIRECTORY", None)
        full_env.update(env or {})
        return subprocess.run([harness.BINARY, *args, "--config", self.env.config],
                              cwd=self.env.root, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=full_env)

    def ingest(self, *reports, **kwargs):
        return self.cli("ingest", *reports, **kwargs)

    def send_test(self, *to, **kwargs):
        args = ["send-test-email"]
        for t in to:
            args += ["--to", t]
        return self.cli(*args, **kwargs)

    # --- checks ---------------------------------------------------------------

    def assert_mime(self, eml):
        """RFC 5322 / MIME as stockwatch writes it: 7-bit, CRLF, short lines."""
        self.assertTrue(all(b < 0x80 for b in eml), "an 8-bit octet in the message")
        self.assertNotIn(b"\n", eml.replace(b"\r\n", b""), "a bare LF")
        for line in eml.split(b"\r\n"):
            self.assertLessEqual(len(line), 78, line)
        msg = parse_message(eml)
        # Alerts: the plain text and the HTML table; test messages: plain text.
        if msg.get_content_type() == "multipart/alternative":
            parts = list(msg.iter_parts())
            self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
        else:
            self.assertEqual(msg.get_content_type(), "text/plain")
            parts = [msg]
        for part in parts:
            self.assertEqual(part.get_content_charset(), "utf-8")
            self.assertEqual(part["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertRegex(msg["Message-ID"], r"^<[^<>@\s]+@example\.com>$")
        self.assertIsNotNone(msg["Date"].datetime)
        self.assertEqual(msg.defects, [])
        return msg

    def body(self, msg):
        """The body's lines, with the report footer checked and dropped."""
        lines = msg.get_content().replace("\r\n", "\n").split("\n")
        self.assertEqual(lines[-1], "")
        if len(lines) >= 3 and FOOTER.match(lines[-2]):
            self.assertEqual(lines[-3], "")
            return lines[:-3]
        return lines[:-1]

    def by_recipient(self, server):
        out = {}
        for msg, side in server.parsed():
            self.assertEqual(len(side["rcpt_tos"]), 1, side)
            self.assertEqual(side["mail_from"], SENDER)
            out.setdefault(side["rcpt_tos"][0], []).append(msg)
        return out


class EventsAndGrouping(AlertsTestCase):

    def test_report_grouping_summary_subjects_store_filters_and_unicode(self):
        smtp = self.server()
        self.configure(self.plain(smtp), smtp=['starttls = "off"'], subscriptions=[
            (OWNER, None, None),
            ("medan@example.com", ["Medan"], None),
            ("jawa@example.com", [CIKARANG], ["out_of_stock"]),
            ("none@example.com", ["Bali"], None),
        ])
        name = self.report("2026-11.csv",
                           "store,item,count\n"
                           "Medan,Robusta Dairi,0\n"
                           "Medan,Arabika Gayo,0\n"
                           "Medan,Arabika Lintong,0\n"
                           "Medan,Liberika Meranti,11\n"
                           "Makassar,Arabika Kalosi,0\n"
                           f"{CIKARANG},{TORAJA},0\n"
                           f"{CIKARANG},Kopi Jawa,3\n")
        r = self.ingest(name)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(smtp.count(), 3)
        got = self.by_recipient(smtp)
        self.assertEqual(sorted(got), ["jawa@example.com", "medan@example.com", OWNER])

        medan_lines = ["Medan is out of stock of Robusta Dairi",
                       "Medan is out of stock of Arabika Gayo",
                       "Medan is out of stock of Arabika Lintong"]
        expected = {
            OWNER: ("Inventory Alert! 3 stores, 5 items out of stock",
                    medan_lines + ["Makassar is out of stock of Arabika Kalosi",
                                   f"{CIKARANG} is out of stock of {TORAJA}"]),
            "medan@example.com": ("Inventory Alert! Medan: 3 items out of stock", medan_lines),
            "jawa@example.com": (f"Inventory Alert! {CIKARANG}: {TORAJA} is out of stock",
                                 [f"{CIKARANG} is out of stock of {TORAJA}"]),
        }
        for rcpt, (subject, lines) in expected.items():
            (msg,) = got[rcpt]
            self.assertEqual(str(msg["Subject"]), subject)
            self.assertEqual(str(msg["To"]), rcpt)
            self.assertEqual(str(msg["From"]), SENDER)
            self.assertEqual(self.body(msg), lines)
            footer = msg.get_content().splitlines()[-1]
            self.assertEqual(FOOTER.match(footer).group(1), name, footer)
        for eml, _ in smtp.messages():
            self.assert_mime(eml)
        # Non-ASCII subjects travel as RFC 2047 encoded-words.
        raw = dict((side["rcpt_tos"][0], eml) for eml, side in smtp.messages())
        self.assertIn(b"Subject: =?UTF-8?B?", raw["jawa@example.com"])
        self.assertIn(b"Subject: Inventory Alert! Medan: 3 items out of stock\r\n",
                      raw["medan@example.com"])

    def test_item_grouping_one_message_per_item_with_the_plain_subject(self):
        smtp = self.server()
        self.configure(self.plain(smtp), smtp=['starttls = "off"'], alerts=['group = "item"'])
        r = self.ingest(self.report("a.csv", "store,item,count\n"
                                             "Medan,Robusta Dairi,0\n"
                                             "Medan,Arabika Gayo,5\n"
                                             f"{CIKARANG},{TORAJA},0\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        msgs = self.by_recipient(smtp)[OWNER]
        self.assertEqual(len(msgs), 2)
        bodies = sorted(m.get_content().replace("\r\n", "\n") for m in msgs)
        self.assertEqual(bodies, sorted(["Medan is out of stock of Robusta Dairi\n",
                                         f"{CIKARANG} is out of stock of {TORAJA}\n"]))
        for eml, _ in smtp.messages():
            msg = self.assert_mime(eml)
            self.assertEqual(str(msg["Subject"]), SUBJECT)
        self.assertEqual(len({m["Message-ID"] for m in msgs}), 2)

    def test_item_grouping_back_in_stock_and_a_rejected_report(self):
        smtp = self.server()
        self.configure(self.plain(smtp), smtp=['starttls = "off"'],
                       alerts=['group = "item"', "back_in_stock = true"])
        first = self.report("1.csv", "store,item,count\n"
                                     "Medan,Robusta Dairi,0\n"
                                     f"{CIKARANG},{TORAJA},0\n"
                                     "Medan,Kopi,4\n")
        second = self.report("2.csv", "store,item,count\n"
                                      "Medan,Robusta Dairi,12\n"
                                      f"{CIKARANG},{TORAJA},3\n"
                                      "Medan,Kopi,4\n")
        bad = self.report("bad.csv", "store,item,count\nMedan,Kopi,abc\n")
        r = self.ingest(first)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.ingest(second, bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

        got = {}  # event (from the Message-ID) -> [(subject, body)]
        for eml, side in smtp.messages():
            self.assertEqual(side["rcpt_tos"], [OWNER])
            msg = self.assert_mime(eml)
            event = str(msg["Message-ID"]).strip("<>").split(".")[0]
            got.setdefault(event, []).append(
                (str(msg["Subject"]), msg.get_content().replace("\r\n", "\n")))
        self.assertEqual(sorted(got), ["back_in_stock-change", "out_of_stock-change",
                                       "report_rejected"])
        self.assertEqual(sorted(got["out_of_stock-change"]), sorted([
            (SUBJECT, "Medan is out of stock of Robusta Dairi\n"),
            (SUBJECT, f"{CIKARANG} is out of stock of {TORAJA}\n")]))
        self.assertEqual(sorted(got["back_in_stock-change"]), sorted([
            (SUBJECT, "Medan has Robusta Dairi back in stock (12)\n"),
            (SUBJECT, f"{CIKARANG} has {TORAJA} back in stock (3)\n")]))
        # A rejected report is one message whatever the grouping.
        ((subject, body),) = got["report_rejected"]
        self.assertEqual(subject, f"{SUBJECT} Report rejected: {bad}")
        self.assertIn(f"The report {bad} was rejected and nothing of it was loaded.", body)
        self.assertIn("line 2, column count: 'abc' is not a whole number", body)
        events = sorted(m["event"] for m in self.env.outbox())
        self.assertEqual(events, ["back_in_stock"] * 2 + ["out_of_stock"] * 2 + ["report_rejected"])
        self.assertEqual({m["state"] for m in self.env.outbox()}, {"sent"})

    def test_back_in_stock_and_event_filters(self):
        smtp = self.server()
        self.configure(self.plain(smtp), smtp=['starttls = "off"'],
                       alerts=["back_in_stock = true"], subscriptions=[
                           (OWNER, None, ["back_in_stock"]),
                           ("ops@example.com", None, ["out_of_stock"]),
                       ])
        first = self.report("1.csv", "store,item,count\nMedan,Robusta Dairi,0\nMedan,Kopi,4\n")
        second = self.report("2.csv", "store,item,count\nMedan,Robusta Dairi,12\nMedan,Kopi,4\n")
        self.assertEqual(self.ingest(first).returncode, 0)
        self.assertEqual(self.ingest(second).returncode, 0)
        got = self.by_recipient(smtp)
        self.assertEqual(sorted(got), ["ops@example.com", OWNER])
        (oos,) = got["ops@example.com"]
        self.assertEqual(str(oos["Subject"]), "Inventory Alert! Medan: Robusta Dairi is out of stock")
        self.assertEqual(self.body(oos), ["Medan is out of stock of Robusta Dairi"])
        (back,) = got[OWNER]
        self.assertEqual(str(back["Subject"]),
                         "Inventory Alert! Medan: Robusta Dairi is back in stock")
        self.assertEqual(self.body(back), ["Medan has Robusta Dairi back in stock (12)"])
        events = sorted((m["event"], m["recipient"], m["state"]) for m in self.env.outbox())
        self.assertEqual(events, [("back_in_stock", OWNER, "sent"),
                                  ("out_of_stock", "ops@example.com", "sent")])

    def test_rejected_report_and_a_header_injection_attempt(self):
        smtp = self.server()
        self.configure(self.plain(smtp), smtp=['starttls = "off"'], subscriptions=[
            (OWNER, None, ["report_rejected"]),
            ("medan@example.com", ["Medan"], None),
        ])
        # A quoted field may hold a line break: the only way a store name
        # could carry one. The parser rejects control characters.
        bad = self.report("medan.csv", 'store,item,count\n'
                                       'Medan,Robusta Dairi,0\n'
                                       '"Medan\r\nBcc: evil@example.com",Arabika Gayo,0\n')
        # A file name may hold a line break too, and goes into the subject.
        odd = self.report("odd\nBcc: evil@example.com.csv", "store,item,count\nMedan,X,abc\n")
        r = self.ingest(bad, odd)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("control character", r.stdout)
        self.assertEqual(self.env.query("SELECT count(*) FROM inventory"), [(0,)])

        messages = smtp.messages()
        self.assertEqual(len(messages), 4, [s for _, s in messages])  # 2 reports x 2 recipients
        for eml, side in messages:
            self.assertEqual(side["rcpt_tos"], [side["rcpt_tos"][0]])
            self.assertNotIn("evil@example.com", side["rcpt_tos"])
            msg = self.assert_mime(eml)
            self.assertIsNone(msg["Bcc"])
            self.assertNotIn(b"\r\nBcc:", eml)
            self.assertTrue(str(msg["Subject"]).startswith(f"{SUBJECT} Report rejected: reports/"))
        subjects = sorted(str(parse_message(eml)["Subject"]) for eml, _ in messages)
        self.assertEqual(subjects, sorted(
            [f"{SUBJECT} Report rejected: reports/medan.csv"] * 2
            + [f"{SUBJECT} Report rejected: reports/odd?Bcc: evil@example.com.csv"] * 2))
        body = next(parse_message(eml).get_content() for eml, _ in messages
                    if b"medan.csv" in eml)
        self.assertIn("was rejected and nothing of it was loaded", body)
        self.assertIn("control character", body)


class Delivery(AlertsTestCase):

    def test_451_twice_then_accepted_keeps_the_message_id(self):
        smtp = self.server(fail_451=2)
        self.configure(self.plain(smtp), smtp=['starttls = "off"'])
        self.env.start_daemon()
        shutil.copyfile(os.path.join(harness.SAMPLES, "inventory-medan.csv"),
                        os.path.join(self.env.inbox, "inventory-medan.csv"))
        self.env.wait_messages(1, timeout=20)
        self.env.assert_message_count_stays(1, 0.5)
        attempts = smtp.attempts()
        self.assertEqual([a["reply"][:3] for a in attempts], ["451", "451", "250"])
        ids = {a["message_id"] for a in attempts}
        self.assertEqual(len(ids), 1, attempts)
        (msg, _), = smtp.parsed()
        self.assertEqual(msg["Message-ID"], ids.pop())
        (row,) = self.env.outbox()
        self.assertEqual((row["state"], row["attempts"]), ("sent", 3))
        log = self.env.daemon.log()
        self.assertEqual(log.count("attempt 1 failed, retrying in"), 1, log)
        self.assertEqual(log.count("attempt 2 failed, retrying in"), 1, log)
        self.env.stop_daemon()

    def test_550_for_one_of_two_recipients(self):
        smtp = self.server(reject=["nobody@example.com"])
        self.configure(self.plain(smtp), smtp=['starttls = "off"'],
                       subscriptions=[([OWNER, "nobody@example.com"], None, None)])
        r = self.ingest(self.report("m.csv", "store,item,count\nMedan,Robusta Dairi,0\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([s["rcpt_tos"] for _, s in smtp.messages()], [[OWNER]])
        rows = {m["recipient"]: m for m in self.env.outbox()}
        self.assertEqual(rows[OWNER]["state"], "sent")
        dead = rows["nobody@example.com"]
        self.assertEqual(dead["state"], "dead")
        self.assertIn("recipient refused (550): 550 5.1.1 No such user", dead["last_error"])

        listing = self.cli("outbox")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        line = next(l for l in listing.stdout.splitlines() if "nobody@example.com" in l)
        self.assertRegex(line, r"^\d+\s+dead\s+out_of_stock\s+1\s")
        self.assertIn("recipient refused (550)", line)
        self.assertNotIn(f"{OWNER}  ", listing.stdout)  # sent ones only with --all
        self.assertIn("0 queued, 1 dead, 1 sent", listing.stdout)

        out = self.send_test()
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn(f"{OWNER}: sent.", out.stdout)
        self.assertIn("nobody@example.com: NOT sent. "
                      f"smtp://127.0.0.1:{smtp.port}: recipient refused (550): "
                      "550 5.1.1 No such user", out.stdout)
        self.assertIn("check it in [[alerts.subscription]]", out.stdout)
        self.assertIn("1 of 2 test message(s) sent.", out.stdout)
        # The test message went around the outbox.
        self.assertEqual(len(self.env.outbox()), 2)

    def test_password_sources_and_a_wrong_password(self):
        smtp = self.server(auth="alerts:c0rrect-horse")
        pwfile = os.path.join(self.env.root, "smtp-password")
        with open(pwfile, "w", encoding="utf-8") as f:
            f.write("wr0ng-battery\n")
        os.chmod(pwfile, 0o600)  # a world-readable password file is refused
        self.configure(self.plain(smtp), smtp=['starttls = "off"', 'username = "alerts"',
                                               f"password_file = {toml_str(pwfile)}"])
        r = self.ingest(self.report("m.csv", "store,item,count\nMedan,Robusta Dairi,0\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (row,) = self.env.outbox()
        self.assertEqual(row["state"], "dead")
        self.assertIn("authentication failed (535)", row["last_error"])
        self.assertNotIn("wr0ng", row["last_error"])

        out = self.send_test()
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"{OWNER}: NOT sent. smtp://127.0.0.1:{smtp.port}: authentication failed "
                      "(535): 535 5.7.8 Authentication credentials invalid", out.stdout)
        self.assertIn("What to do: Check smtp.username and the password", out.stdout)
        self.assertNotIn("wr0ng", out.stdout + out.stderr)
        self.assertEqual(smtp.count(), 0)

        # The right password, from each of the three places.
        with open(pwfile, "w", encoding="utf-8") as f:
            f.write("c0rrect-horse\n")
        self.assertEqual(self.send_test().returncode, 0)
        self.configure(self.plain(smtp), smtp=['starttls = "off"', 'username = "alerts"'])
        r = self.send_test(env={"STOCKWATCH_SMTP_PASSWORD": "c0rrect-horse"})
        self.assertEqual(r.returncode, 0, r.stdout)
        creds = os.path.join(self.env.root, "credentials")
        os.makedirs(creds)
        with open(os.path.join(creds, "smtp-password"), "w", encoding="utf-8") as f:
            f.write("c0rrect-horse\n")
        r = self.send_test(env={"CREDENTIALS_DIRECTORY": creds})
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual([s["auth"] for _, s in smtp.messages()], ["alerts"] * 3)
        # `outbox retry` sends the dead alert now that the password is right.
        self.assertEqual(self.cli("outbox", "retry", "--dead").returncode, 0)
        r = self.ingest(self.report("n.csv", "store,item,count\nMedan,Robusta Dairi,0\n"),
                        env={"STOCKWATCH_SMTP_PASSWORD": "c0rrect-horse"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.env.outbox()[0]["state"], "sent")


    def test_auth_login_alone_and_auth_plain_alone(self):
        """libcurl picks PLAIN when both are offered: each is forced here."""
        for mechanism in ("LOGIN", "PLAIN"):
            with self.subTest(mechanism=mechanism):
                smtp = self.server(name=f"auth-{mechanism}", auth="alerts:c0rrect-horse",
                                   auth_mechanisms=mechanism)
                self.configure(self.plain(smtp), smtp=['starttls = "off"', 'username = "alerts"'])
                good = {"STOCKWATCH_SMTP_PASSWORD": "c0rrect-horse"}
                name = self.report(f"{mechanism}.csv",
                                   f"store,item,count\nMedan,Kopi {mechanism},0\n")
                r = self.ingest(name, env=good)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("1 queued, 1 sent", r.stdout)
                out = self.send_test(env=good)
                self.assertEqual(out.returncode, 0, out.stdout)
                wrong = self.send_test(env={"STOCKWATCH_SMTP_PASSWORD": "wr0ng-battery"})
                self.assertEqual(wrong.returncode, 1, wrong.stdout)
                self.assertIn("authentication failed (535): 535 5.7.8 Authentication credentials "
                              "invalid", wrong.stdout)
                self.assertNotIn("wr0ng", wrong.stdout + wrong.stderr)
                sides = [side for _, side in smtp.messages()]
                self.assertEqual([(s["auth"], s["auth_mechanism"]) for s in sides],
                                 [("alerts", mechanism)] * 2)
                self.assertEqual(self.body(parse_message(smtp.messages()[0][0])),
                                 [f"Medan is out of stock of Kopi {mechanism}"])

    def test_killed_with_messages_queued_each_is_delivered_once_after_restart(self):
        env = self.env
        placeholder = harness.reserve_port()
        self.addCleanup(placeholder.close)
        port = placeholder.getsockname()[1]
        self.configure(f"smtp://127.0.0.1:{port}", smtp=['starttls = "off"'],
                       subscriptions=[([OWNER, "buyer@example.com"], None, None)])
        env.start_daemon()
        env.drop(os.path.join(harness.SAMPLES, "inventory-medan.csv"))
        env.drop(os.path.join(harness.SAMPLES, "inventory-makassar.csv"))
        env.wait_archived(2)
        # Two reports x two recipients, each tried and queued again.
        env.wait_for(lambda: len(env.outbox()) == 4
                     and all(m["attempts"] >= 1 for m in env.outbox()),
                     "four alerts tried once and queued again", timeout=30)
        env.daemon.proc.kill()
        self.assertEqual(env.daemon.proc.wait(30), -signal.SIGKILL)
        self.assertEqual([m["state"] for m in env.outbox()], ["queued"] * 4)
        queued = {f"<{mid}>" for (mid,) in env.query("SELECT message_id FROM outbox")}
        self.assertEqual(len(queued), 4)

        placeholder.close()
        smtp = self.server(port=port)
        env.start_daemon()
        env.wait_messages(4, timeout=30)
        env.wait_for(lambda: [m["state"] for m in env.outbox()] == ["sent"] * 4,
                     "the four alerts marked sent", timeout=30)
        env.assert_message_count_stays(4)
        delivered = [str(msg["Message-ID"]) for msg, _ in smtp.parsed()]
        self.assertEqual(sorted(delivered), sorted(queued))  # each once, with its own id
        self.assertEqual(sorted(tuple(side["rcpt_tos"]) for _, side in smtp.messages()),
                         [("buyer@example.com",)] * 2 + [(OWNER,)] * 2)
        self.assertEqual(len(env.reports()), 2)
        env.stop_daemon()


class Shutdown(AlertsTestCase):
    """SIGTERM sends what is due for up to smtp.shutdown_flush_s, then exits."""

    def test_sigterm_sends_the_alert_of_the_last_report_before_exiting(self):
        env = self.env
        hold = os.path.join(env.root, "hold")
        open(hold, "w", encoding="ascii").close()
        smtp = self.server(hold_file=hold)
        # Generous for a loaded machine; the flush ends as soon as nothing is due.
        self.configure(self.plain(smtp), smtp=['starttls = "off"', "shutdown_flush_s = 60"])
        env.start_daemon()
        env.drop(os.path.join(harness.SAMPLES, "inventory-medan.csv"))
        # The first alert is at the server, which holds its reply...
        wait_for(lambda: smtp.log().count("holding <") == 1, "the first alert to be held",
                 timeout=30)
        # ...while the last report is loaded and its alert queued behind it.
        env.drop(os.path.join(harness.SAMPLES, "inventory-makassar.csv"))
        env.wait_archived(2)
        env.wait_for(lambda: len(env.outbox()) == 2, "the second alert queued")
        self.assertEqual([(m["state"], m["attempts"]) for m in env.outbox()],
                         [("queued", 0), ("queued", 0)])

        env.daemon.proc.send_signal(signal.SIGTERM)
        env.wait_for(lambda: "received SIGTERM" in env.daemon.log(), "SIGTERM to be logged")
        os.unlink(hold)  # the server answers from now on
        self.assertEqual(env.daemon.proc.wait(90), 0, "exit status after SIGTERM")
        # Both were accepted by the server before the process exited.
        self.assertEqual(smtp.count(), 2)
        bodies = sorted(msg.get_content() for msg, _ in smtp.parsed())
        self.assertIn("Makassar is out of stock of Arabika Kalosi", bodies[0])
        self.assertIn("Medan is out of stock of Robusta Dairi", bodies[1])
        self.assertEqual([m["state"] for m in env.outbox()], ["sent", "sent"])
        log = env.daemon.log()
        self.assertIn("then queued mail is sent for up to 60 s", log)
        self.assertIn("shutdown: 1 message(s) sent; nothing left queued", log)

    def test_sigterm_with_the_server_stalled_exits_within_the_bound(self):
        env = self.env
        # A server that accepts the connection and never says a word.
        mute = socket.socket()
        self.addCleanup(mute.close)
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        mute.settimeout(60)
        port = mute.getsockname()[1]
        flush_s = 2
        self.configure(f"smtp://127.0.0.1:{port}",
                       smtp=['starttls = "off"', "connect_timeout_s = 120", "timeout_s = 300",
                             f"shutdown_flush_s = {flush_s}"])
        env.start_daemon()
        env.drop(os.path.join(harness.SAMPLES, "inventory-medan.csv"))
        conn, _ = mute.accept()  # the alert's delivery has begun and waits for a greeting
        self.addCleanup(conn.close)

        start = time.monotonic()
        env.daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(env.daemon.proc.wait(120), 0, "exit status after SIGTERM")
        elapsed = time.monotonic() - start
        # The bound, plus room for a loaded machine; smtp.timeout_s is 300.
        self.assertLess(elapsed, flush_s + 15, f"took {elapsed:.1f} s to stop")
        (row,) = env.outbox()
        self.assertEqual(row["state"], "queued")
        self.assertIn("not sent: the time for sending at shutdown (smtp.shutdown_flush_s) ran out",
                      row["last_error"])
        self.assertIn("1 still queued", env.daemon.log())
        queued_id = env.query("SELECT message_id FROM outbox")[0][0]

        # After a restart with the server answering, it is delivered once.
        conn.close()
        mute.close()
        smtp = self.server(port=port)
        env.start_daemon()
        env.wait_messages(1, timeout=30)
        env.wait_for(lambda: env.outbox()[0]["state"] == "sent", "the alert marked sent")
        env.assert_message_count_stays(1)
        ((msg, _),) = smtp.parsed()
        self.assertEqual(str(msg["Message-ID"]), f"<{queued_id}>")
        self.assertIn("Medan is out of stock of Robusta Dairi", msg.get_content())
        env.stop_daemon()


class Tls(AlertsTestCase):

    def test_starttls_required_with_the_ca_delivers_and_logs_in(self):
        smtp = self.server(tls=True, auth="alerts:c0rrect-horse")
        self.configure(f"smtp://127.0.0.1:{smtp.port}",
                       smtp=['starttls = "required"', 'username = "alerts"',
                             f"ca_file = {toml_str(_CERTS['ca.pem'])}"])
        r = self.ingest(self.report("m.csv", "store,item,count\nMedan,Robusta Dairi,0\n"),
                        env={"STOCKWATCH_SMTP_PASSWORD": "c0rrect-horse"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.env.outbox()[0]["state"], "sent")
        out = self.send_test(env={"STOCKWATCH_SMTP_PASSWORD": "c0rrect-horse"})
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertIn(f"{OWNER}: sent. smtp://127.0.0.1:{smtp.port}: accepted (250)", out.stdout)
        msgs = smtp.parsed()
        self.assertEqual(len(msgs), 2)
        self.assertEqual(str(msgs[1][0]["Subject"]), "Inventory Alert! Test message")
        self.assertEqual([s["auth"] for _, s in msgs], ["alerts", "alerts"])

    def test_untrusted_certificate(self):
        smtp = self.server(tls=True)
        self.configure(f"smtp://localhost:{smtp.port}", smtp=['starttls = "required"'])
        out = self.send_test()
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"{OWNER}: NOT sent. smtp://localhost:{smtp.port}: certificate not trusted",
                      out.stdout)
        self.assertIn("permanent", out.stdout)
        self.assertIn("What to do: ", out.stdout)
        self.assertIn("smtp.ca_file", out.stdout)
        self.assertEqual(smtp.count(), 0)

    def test_starttls_required_but_not_offered(self):
        smtp = self.server(tls=True, no_starttls=True)
        self.configure(self.plain(smtp))  # starttls defaults to "required"
        out = self.send_test()
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"{OWNER}: NOT sent. smtp://127.0.0.1:{smtp.port}: STARTTLS required but "
                      "the server does not offer it", out.stdout)
        self.assertIn("Use the server's submission port", out.stdout)
        self.assertEqual(smtp.count(), 0)
        # The same with the daemon's path: dead at once, no retry.
        r = self.ingest(self.report("m.csv", "store,item,count\nMedan,Robusta Dairi,0\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (row,) = self.env.outbox()
        self.assertEqual((row["state"], row["attempts"]), ("dead", 1))

    def test_implicit_tls_with_the_ca_delivers(self):
        smtp = self.server(implicit_tls=True)
        self.configure(f"smtps://localhost:{smtp.port}",
                       smtp=[f"ca_file = {toml_str(_CERTS['ca.pem'])}"])
        out = self.send_test("somebody@example.com")
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertIn("somebody@example.com: sent. smtps://localhost:", out.stdout)
        r = self.ingest(self.report("m.csv", "store,item,count\nMedan,Robusta Dairi,0\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rcpts = [s["rcpt_tos"] for _, s in smtp.messages()]
        self.assertEqual(rcpts, [["somebody@example.com"], [OWNER]])
        self.assert_mime(smtp.messages()[1][0])


class SendTestEmail(AlertsTestCase):

    def test_refused_connection_and_timeouts(self):
        with contextlib.closing(harness.reserve_port()) as closed:
            self.configure(f"smtp://127.0.0.1:{closed.getsockname()[1]}",
                           smtp=['starttls = "off"'])
            out = self.send_test()
        self.assertEqual(out.returncode, 1)
        self.assertIn("NOT sent.", out.stdout)
        self.assertIn("cannot connect: connection refused", out.stdout)
        self.assertIn("temporary", out.stdout)
        self.assertIn("What to do: Check the host and port in smtp.url", out.stdout)

        # A server that accepts the connection and never says a word.
        with contextlib.closing(socket.socket()) as mute:
            mute.bind(("127.0.0.1", 0))
            mute.listen(4)
            self.configure(f"smtp://127.0.0.1:{mute.getsockname()[1]}",
                           smtp=['starttls = "off"', "timeout_s = 2"])
            start = time.monotonic()
            out = self.send_test()
            elapsed = time.monotonic() - start
        self.assertEqual(out.returncode, 1)
        self.assertIn("timed out", out.stdout)
        self.assertLess(elapsed, 8)
        self.assertGreaterEqual(elapsed, 1.5)

    def test_maildir_and_no_outbox(self):
        self.configure("", subscriptions=[([OWNER, "b@example.com"], None, None),
                                          (OWNER, ["Medan"], None)])
        out = self.send_test()
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertIn(f"through maildir {self.env.maildir} to 2 addresses", out.stdout)
        self.assertIn("2 of 2 test message(s) sent.", out.stdout)
        self.assertEqual(len(os.listdir(os.path.join(self.env.maildir, "new"))), 2)
        self.assertFalse(os.path.exists(self.env.db), "send-test-email opened the database")


class SecondMta(AlertsTestCase):
    """OpenSMTPD (Debian's opensmtpd) as the receiving server.

    The test's smtpd runs in a private mount namespace (`unshare --mount`)
    with its own empty tmpfs over the folder of its control socket (/run)
    and over its queue (/var/spool/smtpd). An OpenSMTPD that the machine
    runs as a service (Debian starts one when the package is installed)
    keeps its socket and its queue, and never sees the test's; the mounts
    vanish with the test's smtpd, so the machine is left as it was.
    """

    SOCKET = "/var/run/smtpd.sock"
    QUEUE = "/var/spool/smtpd"

    def cannot_run(self, why):
        """Skips, saying why where the test log shows it."""
        sys.stderr.write(f"\n[OpenSMTPD test not run: {why}]\n")
        self.skipTest(why)

    def smtpd_or_skip(self):
        smtpd = shutil.which("smtpd") or "/usr/sbin/smtpd"
        if not os.path.exists(smtpd):
            self.cannot_run("OpenSMTPD is not installed (apt-get install opensmtpd; "
                            "scripts/install-deps.sh installs it)")
        if os.geteuid() != 0:
            self.cannot_run("OpenSMTPD runs only as root, and its private mount namespace "
                            "needs root too")
        unshare = shutil.which("unshare")
        if not unshare:
            self.cannot_run("no unshare command (util-linux) for a private mount namespace")
        if not os.path.isdir(self.QUEUE):
            self.cannot_run(f"{self.QUEUE} is missing: the opensmtpd package is incomplete")
        try:
            import pwd
            pwd.getpwnam("nobody")
        except KeyError:
            self.cannot_run("no user 'nobody' to deliver as")
        probe = subprocess.run(
            [unshare, "--mount", "--propagation", "private", "--",
             "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", self.QUEUE],
            capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            self.cannot_run("cannot mount a tmpfs in a private mount namespace here (a "
                            "container without CAP_SYS_ADMIN?): "
                            + (probe.stderr.strip() or f"exit status {probe.returncode}"))
        return smtpd, unshare

    def test_delivery_through_opensmtpd(self):
        smtpd, unshare = self.smtpd_or_skip()
        root = self.env.root
        os.chmod(root, 0o711)
        mail = os.path.join(root, "opensmtpd-mail")
        os.makedirs(mail)
        shutil.chown(mail, user="nobody")
        with contextlib.closing(harness.reserve_port()) as held:
            port = held.getsockname()[1]
        conf = os.path.join(root, "smtpd.conf")
        with open(conf, "w", encoding="ascii") as f:
            # No TLS: Debian 12's OpenSMTPD 6.8.0p2 fails every TLS handshake
            # with OpenSSL 3 ("SSL routines::EVP lib"), whatever the key.
            f.write('table vusers { "@example.com" = "nobody" }\n'
                    f'action "deliver" maildir "{mail}/Maildir" virtual <vusers>\n'
                    f"listen on 127.0.0.1 port {port} hostname localhost\n"
                    'match from any for domain "example.com" action "deliver"\n')
        os.chmod(conf, 0o600)
        check = subprocess.run([smtpd, "-n", "-f", conf], capture_output=True, text=True,
                               timeout=30)
        self.assertEqual(check.returncode, 0,
                         f"OpenSMTPD refuses the test's configuration: {check.stderr.strip()}")
        # Its own /run (for the control socket) and queue, seen only by it.
        run_dir = os.path.dirname(os.path.realpath(self.SOCKET))
        queue = os.path.realpath(self.QUEUE)
        script = (f"mount -t tmpfs -o mode=0755,size=1m tmpfs {run_dir} && "
                  f"mount -t tmpfs -o mode=0711,size=64m tmpfs {queue} && "
                  f"exec {smtpd} -d -f {conf}")
        log_path = os.path.join(root, "opensmtpd.log")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [unshare, "--mount", "--propagation", "private", "--", "sh", "-c", script],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)

        def smtpd_log():
            with open(log_path, encoding="utf-8", errors="replace") as f:
                return f.read()

        def stop():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.addCleanup(stop)

        def listening():
            if proc.poll() is not None:
                raise AssertionError(f"OpenSMTPD exited at start:\n{smtpd_log()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return True
            return False
        wait_for(listening, "OpenSMTPD to listen", timeout=30)

        self.configure(f"smtp://localhost:{port}", subscriptions=[
            (OWNER, None, None), ("jawa@example.com", [CIKARANG], None)],
            smtp=['starttls = "off"'])
        r = self.ingest(self.report("m.csv", "store,item,count\n"
                                             "Medan,Robusta Dairi,0\n"
                                             f"{CIKARANG},{TORAJA},0\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([m["state"] for m in self.env.outbox()], ["sent", "sent"],
                         f"{r.stderr}\n--- OpenSMTPD ---\n{smtpd_log()}")

        new = os.path.join(mail, "Maildir", "new")
        wait_for(lambda: len(os.listdir(new)) == 2, "two messages in OpenSMTPD's Maildir",
                 timeout=30)
        got = {}
        for name in os.listdir(new):
            with open(os.path.join(new, name), "rb") as f:
                msg = parse_message(f.read())
            got[str(msg["Delivered-To"])] = msg
        self.assertEqual(sorted(got), ["jawa@example.com", OWNER])
        self.assertEqual(str(got[OWNER]["Subject"]), "Inventory Alert! 2 stores, 2 items out of stock")
        self.assertEqual(self.body(got[OWNER]), ["Medan is out of stock of Robusta Dairi",
                                                 f"{CIKARANG} is out of stock of {TORAJA}"])
        self.assertEqual(str(got["jawa@example.com"]["Subject"]),
                         f"Inventory Alert! {CIKARANG}: {TORAJA} is out of stock")
        self.assertIn("(OpenSMTPD)", str(got[OWNER]["Received"]))
        ids = {str(m["Message-ID"]) for m in got.values()}
        self.assertEqual(ids, {r[0] for r in self.env.query(
            "SELECT '<' || message_id || '>' FROM outbox")})


if __name__ == "__main__":
    unittest.main()

"""End to end: alerts through every channel, against real receivers.

The receivers are real HTTP servers (Python's http.server) started by each
test on a free loopback port: a webhook receiver that checks every
X-Stockwatch-Signature with the secret, and one that answers as scripted
(429 with Retry-After, 500, 404) before it accepts. Telegram's servers
cannot be reached from tests, so a local stand-in of the Bot API's
sendMessage (the same URL form, /bot<token>/sendMessage, and the same
answers) takes their place through [telegram] api_url. Email goes to the
real SMTP test server (tests/support/smtp_server.py), and the Indonesian
email is read back with Python's own `email` package.
"""

import email
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import signal
import socketserver
import threading
import time

import harness
from harness import parse_message, toml_str, wait_for

SECRET = "webhook-secret-7f3a"
TOKEN = "123456789:AAHtestTOKENnotReal_xyz"
CHAT = "-1001234567890"
REPORT = "store,item,count\nMedan,Robusta Dairi,0\nMedan,Arabika Gayo,1500\n"


class Receiver:
    """An HTTP server on a free loopback port that records every POST.

    `script` is a list of (status, headers) answered in order; once it runs
    out, every request gets 200. Each request is kept as a dict: path,
    headers, body (bytes), status answered, time received, and whether its
    signature matched (`signed`)."""

    def __init__(self, test, secret=None, script=(), telegram_token=None):
        self.requests = []
        self.script = list(script)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                signed = None
                if secret is not None:
                    expected = "sha256=" + hmac.new(secret.encode(), body,
                                                    hashlib.sha256).hexdigest()
                    signed = hmac.compare_digest(
                        expected, self.headers.get("X-Stockwatch-Signature", ""))
                with receiver.lock:
                    status, headers = (receiver.script.pop(0) if receiver.script
                                       else (200, {}))
                    if signed is False:
                        status, headers = 401, {}
                    if telegram_token is not None and self.path != f"/bot{telegram_token}/sendMessage":
                        status, headers = 404, {}
                    receiver.requests.append({
                        "path": self.path, "headers": dict(self.headers), "body": body,
                        "status": status, "time": time.monotonic(), "signed": signed})
                if telegram_token is not None:
                    answer = ({"ok": True, "result": {"message_id": len(receiver.requests)}}
                              if status == 200 else
                              {"ok": False, "error_code": status, "description": "scripted"})
                else:
                    answer = {"ok": status == 200}
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def all(self):
        with self.lock:
            return list(self.requests)

    def answer_ok_from_now(self):
        with self.lock:
            self.script = []


class ChannelsTestCase(harness.PipelineTestCase):

    def setUp(self):
        self.env = self.make_env()
        self.env.start_smtp()

    def secret_file(self, name, text, mode=0o600):
        path = os.path.join(self.env.root, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.chmod(path, mode)
        return path

    def write_config(self, subscriptions, alerts=(), extra=()):
        """The harness's config with `subscriptions` (TOML lines) instead of
        the owner's email, `alerts` lines added to [alerts], `extra` at the end."""
        text = self.env.config_text(f"smtp://127.0.0.1:{self.env.smtp.port}")
        text = text.replace("[[alerts.subscription]]\n"
                            f"email = {toml_str(harness.RECIPIENT)}\n", "")
        text = text.replace(f"subject = {toml_str(harness.SUBJECT)}\n",
                            f"subject = {toml_str(harness.SUBJECT)}\n" + "".join(
                                line + "\n" for line in alerts))
        text += "\n" + "\n".join(subscriptions) + "\n" + "\n".join(extra) + "\n"
        with open(self.env.config, "w", encoding="utf-8") as f:
            f.write(text)
        return text

    def webhook_subscription(self, url, language=None):
        lines = ["[[alerts.subscription]]", f"webhook = {toml_str(url)}",
                 f"secret_file = {toml_str(self.secret_file('webhook.secret', SECRET))}"]
        if language:
            lines.append(f"language = {toml_str(language)}")
        return "\n".join(lines) + "\n"

    def telegram(self, api_url, language="id"):
        token = self.secret_file("telegram.token", TOKEN)
        sub = "\n".join(["[[alerts.subscription]]", f"telegram = {toml_str(CHAT)}",
                         f"language = {toml_str(language)}"]) + "\n"
        section = "\n".join(["[telegram]", f"token_file = {toml_str(token)}",
                             f"api_url = {toml_str(api_url)}"]) + "\n"
        return sub, section

    def assert_no_secrets_logged(self, *secrets):
        log = self.env.daemon.log()
        for s in secrets:
            self.assertNotIn(s, log, "a secret appears in the daemon's log")

    # --- the channels ---------------------------------------------------------

    def test_signed_webhook_and_telegram_message(self):
        hook = Receiver(self, secret=SECRET)
        tg = Receiver(self, telegram_token=TOKEN)
        sub, section = self.telegram(tg.url)
        self.write_config([self.webhook_subscription(hook.url + "/hooks/T0/B0/XYZ"), sub],
                          extra=[section])
        self.env.start_daemon()
        self.env.drop_text("medan.csv", REPORT)
        wait_for(lambda: hook.accepted() and tg.accepted(), "the webhook and the chat message")

        req = hook.accepted()[0]
        self.assertTrue(req["signed"], "the webhook's signature does not verify")
        self.assertEqual(req["path"], "/hooks/T0/B0/XYZ")
        self.assertTrue(req["headers"]["Content-Type"].startswith("application/json"))
        body = json.loads(req["body"])
        self.assertEqual(body["schema"], "stockwatch.alert")
        self.assertEqual(body["version"], 1)
        self.assertEqual(body["event"], "out_of_stock")
        self.assertEqual(body["store"], "Medan")
        self.assertEqual(body["language"], "en")
        self.assertEqual(body["items"], [{"store": "Medan", "item": "Robusta Dairi", "count": 0,
                                          "minimum": None, "previous_count": None}])
        self.assertEqual(body["report"]["file"], "medan.csv")
        self.assertEqual(req["headers"]["X-Stockwatch-Delivery"], body["id"])
        self.assertEqual(req["headers"]["X-Stockwatch-Event"], "out_of_stock")
        self.assertEqual(body["subject"], "Inventory Alert! Medan: Robusta Dairi is out of stock")
        self.assertTrue(body["text"].startswith(body["subject"] + "\n\n"
                                                "Medan is out of stock of Robusta Dairi\n"))

        chat = json.loads(tg.accepted()[0]["body"])
        self.assertEqual(chat["chat_id"], CHAT)
        self.assertTrue(chat["text"].startswith(
            "Stok habis: Medan, Robusta Dairi\n\nStok Robusta Dairi di Medan habis\n"), chat["text"])
        self.assertEqual(len(hook.all()), 1)
        self.assertEqual(len(tg.all()), 1)
        self.assert_no_secrets_logged(TOKEN, SECRET, "/hooks/T0/B0/XYZ")
        self.assertIn("telegram chat " + CHAT, self.env.daemon.log())
        self.env.stop_daemon()

    def test_retry_after_on_429_is_honoured_and_delivered_once(self):
        hook = Receiver(self, secret=SECRET, script=[(429, {"Retry-After": "3"})])
        self.write_config([self.webhook_subscription(hook.url + "/in")])
        self.env.start_daemon()
        self.env.drop_text("medan.csv", REPORT)
        wait_for(lambda: hook.accepted(), "the webhook after its 429", timeout=20)
        self.assertTrue(harness.holds_for(lambda: len(hook.all()) == 2, 2.0),
                        f"expected one 429 and one delivery, got {len(hook.all())} requests")
        first, second = hook.all()
        self.assertEqual(first["status"], 429)
        # retry_initial_s is 1 (about 1 s of backoff): the wait is the receiver's 3 s.
        self.assertGreaterEqual(second["time"] - first["time"], 2.9)
        self.assertEqual(first["body"], second["body"])
        self.assertIn("Retry-After: 3", self.env.daemon.log())
        self.env.stop_daemon()

    def test_500_twice_then_200_is_delivered_once(self):
        hook = Receiver(self, secret=SECRET, script=[(500, {}), (500, {})])
        self.write_config([self.webhook_subscription(hook.url + "/in")])
        self.env.start_daemon()
        self.env.drop_text("medan.csv", REPORT)
        wait_for(lambda: hook.accepted(), "the webhook after two 500s", timeout=20)
        self.assertTrue(harness.holds_for(lambda: len(hook.all()) == 3, 2.0))
        statuses = [r["status"] for r in hook.all()]
        self.assertEqual(statuses, [500, 500, 200])
        ids = {r["headers"]["X-Stockwatch-Delivery"] for r in hook.all()}
        self.assertEqual(len(ids), 1, "every attempt carries the same delivery id")
        self.assertEqual(len({r["body"] for r in hook.all()}), 1, "every attempt sends the same body")
        rows = [r for r in self.env.outbox() if r["recipient"].startswith(hook.url)]
        self.assertEqual([(r["state"], r["attempts"]) for r in rows], [("sent", 3)])
        self.env.stop_daemon()

    def test_4xx_is_permanent_dead_visible_and_retryable(self):
        hook = Receiver(self, secret=SECRET, script=[(404, {})])
        self.write_config([self.webhook_subscription(hook.url + "/gone")])
        self.env.start_daemon()
        self.env.drop_text("medan.csv", REPORT)
        wait_for(lambda: [r for r in self.env.outbox() if r["state"] == "dead"], "a dead message")
        self.assertTrue(harness.holds_for(lambda: len(hook.all()) == 1, 1.5), "a 404 is not retried")
        dead = self.env.outbox()[0]
        self.assertIn("HTTP 404", dead["last_error"])
        listing = self.env.run_cli("outbox", "--config", self.env.config)
        self.assertIn("dead", listing.stdout)
        self.assertNotIn("/gone", listing.stdout + listing.stderr)
        retry = self.env.run_cli("outbox", "retry", "--dead", "--config", self.env.config)
        self.assertEqual(retry.returncode, 0, retry.stdout + retry.stderr)
        wait_for(lambda: hook.accepted(), "the webhook after `outbox retry`", timeout=45)
        self.env.stop_daemon()

    def test_kill_9_with_queued_webhook_and_chat_delivers_each_once(self):
        hook = Receiver(self, secret=SECRET, script=[(503, {})] * 1000)
        tg = Receiver(self, telegram_token=TOKEN, script=[(502, {})] * 1000)
        sub, section = self.telegram(tg.url)
        self.write_config([self.webhook_subscription(hook.url + "/in"), sub], extra=[section])
        self.env.start_daemon()
        self.env.drop_text("medan.csv", REPORT)
        self.env.drop_text("makassar.csv", "store,item,count\nMakassar,Toraja,0\n")

        def queued_and_tried():
            rows = self.env.outbox()
            return (len(rows) == 4 and all(r["state"] == "queued" and r["attempts"] >= 1
                                           for r in rows))
        wait_for(queued_and_tried, "4 messages queued after failed attempts", timeout=20)
        self.env.daemon.proc.send_signal(signal.SIGKILL)
        self.env.daemon.proc.wait()
        hook.answer_ok_from_now()
        tg.answer_ok_from_now()
        self.env.start_daemon()
        wait_for(lambda: len(hook.accepted()) == 2 and len(tg.accepted()) == 2,
                 "both webhooks and both chat messages after the restart", timeout=30)
        self.assertTrue(harness.holds_for(
            lambda: len(hook.accepted()) == 2 and len(tg.accepted()) == 2, 3.0))
        ids = [json.loads(r["body"])["id"] for r in hook.accepted()]
        self.assertEqual(len(set(ids)), 2, "each webhook message delivered once")
        texts = sorted(json.loads(r["body"])["text"].split("\n")[0] for r in tg.accepted())
        self.assertEqual(texts, ["Stok habis: Makassar, Toraja", "Stok habis: Medan, Robusta Dairi"])
        self.assertTrue(all(r["state"] == "sent" for r in self.env.outbox()))
        self.assert_no_secrets_logged(TOKEN, SECRET)
        self.env.stop_daemon()

    # --- missing reports and digests ----------------------------------------------

    def test_missing_report_and_digest_reach_the_webhook_and_the_chat(self):
        """A store past its deadline and the daily digest, to a webhook and a
        Telegram chat in Indonesian. As in test_schedules.py, the world is put
        in the past instead of moving the daemon's clock: the only report's
        received time goes back 40 days (the 35-day deadline passed five days
        ago), and the digest before the latest one is noted as sent."""
        import contextlib
        import sqlite3
        hook = Receiver(self, secret=SECRET)
        tg = Receiver(self, telegram_token=TOKEN)
        url = hook.url + "/hooks/owner"
        token = self.secret_file("telegram.token", TOKEN)
        webhook_sub = "\n".join([
            "[[alerts.subscription]]", f"webhook = {toml_str(url)}",
            f"secret_file = {toml_str(self.secret_file('webhook.secret', SECRET))}",
            'language = "id"', 'digest = "daily 07:00"']) + "\n"
        chat_sub = "\n".join([
            "[[alerts.subscription]]", f"telegram = {toml_str(CHAT)}", 'language = "id"',
            'digest = "daily 07:00"', 'events = ["report_missing", "digest"]']) + "\n"
        self.write_config([webhook_sub, chat_sub], alerts=['timezone = "Asia/Jakarta"'],
                          extra=["[[alerts.expect]]", "within_days = 35", "",
                                 "[telegram]", f"token_file = {toml_str(token)}",
                                 f"api_url = {toml_str(tg.url)}"])
        r = self.env.run_cli("ingest", "-c", self.env.config, harness.sample("inventory-medan.csv"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: hook.accepted(), "the out-of-stock webhook of the ingested report")
        day_ms = 24 * 3600 * 1000
        _, before = harness.latest_daily(7, 7)  # daily 07:00 in Asia/Jakarta (UTC+7)
        with contextlib.closing(sqlite3.connect(self.env.db)) as db:
            db.execute("UPDATE reports SET received_at = received_at - ?", (40 * day_ms,))
            for to in (f"webhook {url}", f"telegram {CHAT}"):
                db.execute("INSERT INTO cursors(name, position) VALUES (?, ?)",
                           (f"schedule:digest daily 07:00 Asia/Jakarta to {to} []",
                            int(before.timestamp() * 1000)))
            db.commit()

        self.env.start_daemon()

        wait_for(lambda: len(hook.accepted()) == 3 and len(tg.accepted()) == 2,
                 "report_missing and the digest on the webhook and the chat", timeout=30)
        bodies = {b["event"]: b for b in (json.loads(r["body"]) for r in hook.accepted())}
        self.assertTrue(all(r["signed"] for r in hook.accepted()))
        missing = bodies["report_missing"]
        self.assertEqual(missing["language"], "id")
        self.assertEqual(missing["store"], "Medan")
        self.assertEqual(missing["items"], [])
        self.assertIsNone(missing["report"])
        self.assertEqual(missing["missing"]["within_days"], 35)
        self.assertEqual(missing["missing"]["escalated"], False)
        self.assertEqual(missing["missing"]["timezone"], "Asia/Jakarta")
        self.assertEqual(missing["subject"], "Laporan belum masuk: Medan")
        digest = bodies["digest"]
        self.assertEqual(digest["digest"]["every"], "daily")
        self.assertTrue(digest["digest"]["to"].endswith("T07:00:00+07:00"), digest["digest"])
        self.assertEqual([(i["store"], i["item"], i["count"]) for i in digest["items"]],
                         [("Medan", "Robusta Dairi", 0)])
        self.assertTrue(digest["subject"].startswith("Ringkasan stok "), digest["subject"])
        self.assertIn("Habis saat ini (1):\n  Medan: Robusta Dairi", digest["text"])
        texts = sorted(json.loads(r["body"])["text"] for r in tg.accepted())
        firsts = sorted(t.split("\n")[0] for t in texts)
        self.assertEqual(firsts[0], "Laporan belum masuk: Medan")
        # Medan is also past its deadline when the digest is made.
        self.assertTrue(firsts[1].startswith("Ringkasan stok ") and
                        firsts[1].endswith(": 1 barang habis, 1 laporan belum masuk"), firsts)
        # STOCKWATCH_SAVE_CHANNELS=/dir keeps what the receivers got, to read it.
        keep = os.environ.get("STOCKWATCH_SAVE_CHANNELS")
        if keep:
            os.makedirs(keep, exist_ok=True)
            for n, r in enumerate(hook.accepted()):
                with open(os.path.join(keep, f"webhook-{n}.json"), "wb") as f:
                    f.write(r["body"])
            for n, t in enumerate(texts):
                with open(os.path.join(keep, f"telegram-{n}.txt"), "w", encoding="utf-8") as f:
                    f.write(t)
        self.env.stop_daemon()
        # A restart sends nothing again.
        self.env.start_daemon()
        self.assertTrue(harness.holds_for(
            lambda: len(hook.all()) == 3 and len(tg.all()) == 2, 2.0))
        self.assert_no_secrets_logged(TOKEN, SECRET, "/hooks/owner")
        self.env.stop_daemon()

    # --- language and the email ---------------------------------------------------

    def test_indonesian_email_has_exact_subject_and_both_parts(self):
        self.write_config(["[[alerts.subscription]]", f"email = {toml_str(harness.RECIPIENT)}",
                           'language = "id"'])
        # Without alerts.subject (English by default), an Indonesian message has its own.
        with open(self.env.config, encoding="utf-8") as f:
            text = f.read()
        with open(self.env.config, "w", encoding="utf-8") as f:
            f.write(text.replace(f"subject = {toml_str(harness.SUBJECT)}\n", ""))
        self.env.start_daemon()
        self.env.drop_text("medan.csv", "store,item,count\nMedan,Robusta Dairi,0\n"
                                        "Medan,<b>Kopi & Teh</b>,0\n")
        self.env.wait_messages(1)
        self.env.stop_daemon()
        eml, _ = self.env.smtp.messages()[0]
        # STOCKWATCH_SAVE_EMAIL=/path keeps the message, to look at it in a mail reader.
        if os.environ.get("STOCKWATCH_SAVE_EMAIL"):
            with open(os.environ["STOCKWATCH_SAVE_EMAIL"], "wb") as f:
                f.write(eml)
        msg = email.message_from_bytes(eml, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "Stok habis: Medan, 2 barang")
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        parts = [p.get_content_type() for p in msg.iter_parts()]
        self.assertEqual(parts, ["text/plain", "text/html"])
        plain = msg.get_body(("plain",)).get_content()
        self.assertEqual(plain.splitlines()[:2], ["Stok Robusta Dairi di Medan habis",
                                                  "Stok <b>Kopi & Teh</b> di Medan habis"])
        self.assertRegex(plain, r"Laporan: medan\.csv \(laporan \d+\), dimuat "
                                r"\d\d/\d\d/\d{4} \d\d\.\d\d\.\d\d UTC")
        html = msg.get_body(("html",)).get_content()
        self.assertIn('<html lang="id">', html)
        for heading in ("Barang", "Jumlah", "Minimum", "Jumlah sebelumnya", "Laporan terakhir"):
            self.assertIn(f">{heading}</th>", html)
        self.assertIn(">Medan</h3>", html)
        self.assertIn("&lt;b&gt;Kopi &amp; Teh&lt;/b&gt;", html)
        self.assertNotIn("<b>Kopi", html)
        self.assertEqual(msg["Message-ID"].count("@"), 1)

    def test_error_txt_uses_the_alerts_language(self):
        self.write_config(["[[alerts.subscription]]", f"email = {toml_str(harness.RECIPIENT)}"],
                          alerts=['language = "id"'])
        self.env.start_daemon()
        self.env.drop_text("bad.csv", "store,item,count\nMedan,Robusta Dairi,\n")
        self.env.wait_archived(1)
        with open(os.path.join(self.env.failed, "bad.csv.error.txt"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("baris 2, kolom count: jumlahnya kosong; tulis 0 jika barangnya habis", text)
        msg = parse_message(self.env.wait_messages(1)[0][0])
        self.assertEqual(msg["Subject"], "Laporan ditolak: bad.csv")
        self.env.stop_daemon()

    # --- bad settings ------------------------------------------------------------

    def test_bad_channel_settings_are_refused_by_key_and_line(self):
        text = self.write_config(["[[alerts.subscription]]",
                                  'webhook = "ftp://example.com/in"'])
        line = text.splitlines().index('webhook = "ftp://example.com/in"') + 1
        r = self.env.run_cli("check-config", "--config", self.env.config)
        self.assertNotEqual(r.returncode, 0)
        out = r.stdout + r.stderr
        self.assertIn(f"alerts.subscription[0].webhook (line {line}): \"ftp://example.com/...\" "
                      "is not an http:// or https:// URL", out)
        self.assertIn("alerts.subscription[0].secret_file", out)

        token = self.secret_file("open.token", TOKEN, mode=0o644)
        text = self.write_config(["[[alerts.subscription]]", f"telegram = {toml_str(CHAT)}"],
                                 extra=["[telegram]", f"token_file = {toml_str(token)}"])
        r = self.env.run_cli("serve", "--config", self.env.config, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("telegram.token_file", r.stdout + r.stderr)
        self.assertIn("can be read by every user of this machine", r.stdout + r.stderr)
        self.assertNotIn(TOKEN, r.stdout + r.stderr)

    def test_reload_refuses_an_unreadable_token_file(self):
        hook = Receiver(self, secret=SECRET)
        self.write_config([self.webhook_subscription(hook.url + "/in")])
        self.env.start_daemon()
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write(f'\n[[alerts.subscription]]\ntelegram = "42"\n\n[telegram]\n'
                    f'token_file = {toml_str(os.path.join(self.env.root, "missing.token"))}\n')
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "keeping the running configuration" in self.env.daemon.log(),
                 "the reload to be refused")
        self.assertIn("telegram.token_file", self.env.daemon.log())
        # The running configuration still delivers.
        self.env.drop_text("medan.csv", REPORT)
        wait_for(lambda: hook.accepted(), "the webhook after the refused reload")
        self.env.stop_daemon()


if __name__ == "__main__":
    import unittest
    unittest.main()

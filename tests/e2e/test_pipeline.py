"""End to end: reports dropped into the inbox, loaded into SQLite, alerts
delivered to a real SMTP server (or a Maildir), through the real binary."""

import csv
import mailbox
import os
import re
import socket
import unittest

import harness
from harness import RECIPIENT, SENDER, SUBJECT, parse_message, sample

MEDAN = sample("inventory-medan.csv")
MAKASSAR = sample("inventory-makassar.csv")
MEDAN_OOS = "Medan is out of stock of Robusta Dairi"
MAKASSAR_OOS = "Makassar is out of stock of Arabika Kalosi"


def read_sample(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {(r["store"], r["item"]): int(r["count"]) for r in csv.DictReader(f)}


def out_of_stock_lines(msg):
    return [l for l in msg.get_content().splitlines() if " is out of stock of " in l]


class PipelineTest(harness.PipelineTestCase):

    def serving(self, **config):
        """A fresh world with the SMTP server and the daemon running."""
        env = self.make_env()
        env.start_smtp()
        env.write_config(**config)
        env.start_daemon()
        return env

    def assert_alert(self, eml, sidecar, sentence):
        self.assertEqual(sidecar["mail_from"], SENDER)
        self.assertEqual(sidecar["rcpt_tos"], [RECIPIENT])
        msg = parse_message(eml)
        self.assertEqual(str(msg["From"]), SENDER)
        self.assertEqual(str(msg["To"]), RECIPIENT)
        # One item out of stock: the subject names it after alerts.subject.
        store, item = sentence.split(" is out of stock of ")
        self.assertEqual(str(msg["Subject"]), f"{SUBJECT} {store}: {item} is out of stock")
        self.assertIn(sentence, msg.get_content().splitlines())
        self.assertEqual(out_of_stock_lines(msg), [sentence])
        return msg

    # 1 ------------------------------------------------------------------------
    def test_both_samples_give_one_alert_each(self):
        env = self.serving()
        env.drop(MEDAN)
        env.drop(MAKASSAR)

        env.wait_messages(2)
        env.wait_archived(2)
        env.assert_message_count_stays(2)

        by_sentence = {}
        for eml, sidecar in env.smtp.messages():
            lines = out_of_stock_lines(parse_message(eml))
            self.assertEqual(len(lines), 1, lines)
            by_sentence[lines[0]] = (eml, sidecar)
        self.assertEqual(set(by_sentence), {MEDAN_OOS, MAKASSAR_OOS})
        for sentence, (eml, sidecar) in by_sentence.items():
            self.assert_alert(eml, sidecar, sentence)

        expected = {**read_sample(MEDAN), **read_sample(MAKASSAR)}
        self.assertEqual(len(expected), 12)
        self.assertEqual(env.inventory(), expected)

        self.assertEqual(sorted(os.listdir(env.processed)),
                         ["inventory-makassar.csv", "inventory-medan.csv"])
        self.assertEqual(env.inbox_files(), [])
        self.assertEqual([r[2] for r in env.reports()], ["loaded", "loaded"])
        env.stop_daemon()

    # 2 ------------------------------------------------------------------------
    def test_duplicate_report_gives_no_alert_and_is_archived_beside_the_first(self):
        env = self.serving()
        env.drop(MEDAN)
        env.wait_messages(1)
        env.wait_archived(1)

        env.drop(MEDAN)                           # same name, same content
        env.drop(MEDAN, "medan-resent.csv")       # another name, same content
        rows = env.wait_archived(3, "both copies handled and archived")
        env.assert_message_count_stays(1)

        self.assertEqual([r[2] for r in rows], ["loaded", "duplicate", "duplicate"])
        self.assertEqual(sorted(r[1] for r in rows[1:]),
                         ["inventory-medan.csv", "medan-resent.csv"])
        # A name already taken in processed/ gets a numeric suffix.
        self.assertEqual(sorted(os.listdir(env.processed)),
                         ["inventory-medan.1.csv", "inventory-medan.csv", "medan-resent.csv"])
        with open(MEDAN, "rb") as f:
            original = f.read()
        for name in os.listdir(env.processed):
            with open(os.path.join(env.processed, name), "rb") as f:
                self.assertEqual(f.read(), original, name)
        self.assertEqual(sorted(os.path.basename(r[3]) for r in rows),
                         sorted(os.listdir(env.processed)))
        self.assertEqual(env.inventory(), read_sample(MEDAN))
        env.stop_daemon()

    # 3 ------------------------------------------------------------------------
    def test_item_going_to_zero_alerts_only_for_that_item(self):
        env = self.serving()
        env.drop(MEDAN)
        env.wait_messages(1)
        env.wait_archived(1)

        with open(MEDAN, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("Medan,Arabika Gayo,24\n", text)
        env.drop_text("medan-update.csv", text.replace("Medan,Arabika Gayo,24\n",
                                                       "Medan,Arabika Gayo,0\n"))
        messages = env.wait_messages(2)
        env.wait_archived(2)
        env.assert_message_count_stays(2)

        eml, sidecar = messages[1]
        msg = self.assert_alert(eml, sidecar, "Medan is out of stock of Arabika Gayo")
        self.assertNotIn("Robusta Dairi", msg.get_content())

        # Robusta Dairi was 0 already: the second report changed one row only.
        second = env.reports()[1][0]
        self.assertEqual(env.query("SELECT store, item, old_count, new_count FROM changes "
                                   "WHERE report_id = ?", (second,)),
                         [("Medan", "Arabika Gayo", 24, 0)])
        self.assertEqual(env.inventory()[("Medan", "Arabika Gayo")], 0)
        env.stop_daemon()

    # 4 ------------------------------------------------------------------------
    def test_report_with_a_bad_count_is_rejected_whole(self):
        env = self.serving()
        env.drop_text("medan-bad.csv",
                      "store,item,count\n"
                      "Medan,Kopi Baru,5\n"
                      "Medan,Arabika Gayo,abc\n"
                      "Medan,Robusta Baru,0\n")
        messages = env.wait_messages(1)
        rows = env.wait_archived(1)
        env.assert_message_count_stays(1)

        self.assertEqual(sorted(os.listdir(env.failed)),
                         ["medan-bad.csv", "medan-bad.csv.error.txt"])
        self.assertEqual(os.listdir(env.processed), [])
        with open(os.path.join(env.failed, "medan-bad.csv.error.txt"), encoding="utf-8") as f:
            error = f.read()
        self.assertRegex(error, r"\bline 3\b")
        self.assertIn("count", error)
        self.assertIn("abc", error)

        self.assertEqual(rows[0][2], "rejected")
        inventory = env.inventory()
        self.assertNotIn(("Medan", "Kopi Baru"), inventory)
        self.assertNotIn(("Medan", "Robusta Baru"), inventory)
        self.assertEqual(inventory, {})
        self.assertEqual(env.query("SELECT COUNT(*) FROM changes"), [(0,)])

        eml, sidecar = messages[0]
        self.assertEqual(sidecar["rcpt_tos"], [RECIPIENT])
        msg = parse_message(eml)
        self.assertIn("rejected", str(msg["Subject"]).lower())
        self.assertIn("line 3", msg.get_content())
        self.assertEqual(out_of_stock_lines(msg), [])
        self.assertEqual([m["event"] for m in env.outbox()], ["report_rejected"])
        env.stop_daemon()

    # 5 ------------------------------------------------------------------------
    def test_alert_is_queued_while_the_server_is_down_and_sent_when_it_is_up(self):
        env = self.make_env()
        placeholder = harness.reserve_port()
        self.addCleanup(placeholder.close)
        port = placeholder.getsockname()[1]
        env.write_config(smtp_url=f"smtp://127.0.0.1:{port}")
        env.start_daemon()

        env.drop(MEDAN)
        env.wait_archived(1)
        queued = env.wait_for(
            lambda: [m for m in env.outbox() if m["attempts"] >= 1],
            "a failed delivery attempt recorded in the outbox")
        self.assertEqual(len(queued), 1)
        self.assertEqual(queued[0]["state"], "queued")
        self.assertEqual(queued[0]["event"], "out_of_stock")
        self.assertTrue(queued[0]["last_error"])

        listing = env.run_cli("outbox", "--config", env.config)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        line = [l for l in listing.stdout.splitlines()
                if re.match(rf"{queued[0]['id']}\s+queued\s", l)]
        self.assertEqual(len(line), 1, listing.stdout)
        self.assertIn(RECIPIENT, line[0])
        self.assertIn(SUBJECT, line[0])
        self.assertIn("1 queued, 0 dead, 0 sent", listing.stdout)

        placeholder.close()
        env.start_smtp(port=port)
        messages = env.wait_messages(1)
        env.wait_for(lambda: env.outbox()[0]["state"] == "sent", "the alert marked sent")
        env.assert_message_count_stays(1)
        self.assert_alert(*messages[0], MEDAN_OOS)
        self.assertEqual(env.outbox()[0]["last_error"], "")
        env.stop_daemon()

    # 6 ------------------------------------------------------------------------
    def test_queued_alert_is_delivered_once_after_a_restart(self):
        env = self.make_env()
        placeholder = harness.reserve_port()
        self.addCleanup(placeholder.close)
        port = placeholder.getsockname()[1]
        env.write_config(smtp_url=f"smtp://127.0.0.1:{port}")
        env.start_daemon()

        env.drop(MEDAN)
        env.wait_archived(1)
        env.wait_for(lambda: [m for m in env.outbox() if m["attempts"] >= 1],
                     "a failed delivery attempt recorded in the outbox")
        env.stop_daemon()
        self.assertEqual([m["state"] for m in env.outbox()], ["queued"])

        placeholder.close()
        env.start_smtp(port=port)
        env.start_daemon()
        messages = env.wait_messages(1)
        env.wait_for(lambda: env.outbox()[0]["state"] == "sent", "the alert marked sent")
        env.assert_message_count_stays(1)
        self.assert_alert(*messages[0], MEDAN_OOS)
        self.assertEqual(len(env.outbox()), 1)
        self.assertEqual([r[2] for r in env.reports()], ["loaded"])
        env.stop_daemon()

    # 7 ------------------------------------------------------------------------
    def test_ingest_command_loads_and_delivers_without_a_daemon(self):
        env = self.make_env()
        env.start_smtp()
        env.write_config()

        done = env.run_cli("ingest", "--config", env.config, MEDAN)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertTrue([l for l in done.stdout.splitlines() if "loaded 6 rows" in l],
                        done.stdout)
        messages = env.smtp.messages()  # delivered before ingest returned
        self.assertEqual(len(messages), 1, done.stdout)
        self.assert_alert(*messages[0], MEDAN_OOS)
        self.assertEqual(env.inventory(), read_sample(MEDAN))

        bad = os.path.join(env.root, "bad.csv")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("store,item,count\nMedan,Kopi Baru,5\nMedan,Arabika Gayo,abc\n")
        rejected = env.run_cli("ingest", "--config", env.config, bad)
        self.assertNotEqual(rejected.returncode, 0, rejected.stdout)
        self.assertIn("rejected:", rejected.stdout)
        self.assertNotIn(("Medan", "Kopi Baru"), env.inventory())

    # 8 ------------------------------------------------------------------------
    def test_check_config_version_and_help(self):
        env = self.make_env()
        good = env.write_config(smtp_url="")
        ok = env.run_cli("check-config", "--config", good)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertIn("ok", ok.stdout)

        text = env.config_text("", extra_inbox=["settle_msec = 200"],
                               extra_smtp=['max_attempts = "many"'])
        lines = text.splitlines()
        unknown_line = lines.index("settle_msec = 200") + 1
        wrong_line = lines.index('max_attempts = "many"') + 1
        bad = os.path.join(env.root, "bad.toml")
        with open(bad, "w", encoding="utf-8") as f:
            f.write(text)
        res = env.run_cli("check-config", "--config", bad)
        self.assertNotEqual(res.returncode, 0)
        out = res.stdout + res.stderr
        self.assertIn(f"inbox.settle_msec (line {unknown_line})", out)
        self.assertIn(f"smtp.max_attempts (line {wrong_line})", out)

        version = env.run_cli("--version")
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertRegex(version.stdout, r"stockwatch \d+\.\d+\.\d+")

        for sub in (["serve"], ["ingest"], ["check-config"], ["outbox"], ["outbox", "retry"],
                    ["backup"], ["send-test-email"], ["healthcheck"]):
            with self.subTest(subcommand=" ".join(sub)):
                h = env.run_cli(*sub, "--help")
                self.assertEqual(h.returncode, 0, h.stdout + h.stderr)
                self.assertIn("Usage:", h.stdout)
                self.assertIn(" ".join(sub), h.stdout)
                self.assertIn("--config", h.stdout)
        top = env.run_cli("--help")
        self.assertEqual(top.returncode, 0, top.stderr)
        for sub in ("serve", "ingest", "check-config", "outbox", "backup", "send-test-email",
                    "healthcheck"):
            self.assertIn(sub, top.stdout)

    # 9 ------------------------------------------------------------------------
    def test_without_smtp_url_alerts_go_to_the_maildir(self):
        env = self.make_env()
        env.write_config(smtp_url="")
        env.start_daemon()
        env.drop(MEDAN)
        new = os.path.join(env.maildir, "new")
        env.wait_for(lambda: os.path.isdir(new) and os.listdir(new), "a message in maildir/new")
        env.wait_for(lambda: env.outbox() and env.outbox()[0]["state"] == "sent",
                     "the alert marked sent")
        env.wait_archived(1)
        self.assertTrue(harness.holds_for(lambda: len(os.listdir(new)) == 1, 1.0),
                        os.listdir(new))
        self.assertEqual(os.listdir(os.path.join(env.maildir, "tmp")), [])

        box = mailbox.Maildir(env.maildir, factory=None, create=False)
        keys = box.keys()
        self.assertEqual(len(keys), 1)
        msg = parse_message(box.get_bytes(keys[0]))
        self.assertEqual(str(msg["From"]), SENDER)
        self.assertEqual(str(msg["To"]), RECIPIENT)
        self.assertEqual(str(msg["Subject"]), f"{SUBJECT} Medan: Robusta Dairi is out of stock")
        self.assertEqual(out_of_stock_lines(msg), [MEDAN_OOS])
        env.stop_daemon()


if __name__ == "__main__":
    unittest.main()

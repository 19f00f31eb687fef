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

import harness
from harness import RECIPIENT, SUBJECT, parse_message


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

"""End to end: missing reports and digests (docs/alerts.md), delivered by the
real daemon to the SMTP test server and read with Python's email parser.

Neither test moves the daemon's clock or shortens a setting: each puts the
world in the past instead. The missing-report test sets the received time of
the only report back 40 days in the database (as if it had arrived then),
so the 35-day deadline passed five days ago and its 3-day escalation two
days ago; the digest test notes in the database that the digest before the
latest one was sent (as the template test does for the sheets), so the
latest is due at start. Both then restart the daemon to show that nothing
is sent twice."""

import contextlib
import datetime
import sqlite3
import unittest

import harness
from harness import parse_message, sample

MEDAN = sample("inventory-medan.csv")
DAY_MS = 24 * 3600 * 1000


def subjects(msgs):
    return sorted((parse_message(eml)["Subject"], tuple(side["rcpt_tos"])) for eml, side in msgs)


class SchedulesTest(harness.PipelineTestCase):

    def world(self, alerts_extra, tail):
        env = self.make_env()
        env.start_smtp()
        text = env.config_text(f"smtp://127.0.0.1:{env.smtp.port}")
        text = text.replace("[alerts]\n", "[alerts]\n" + alerts_extra, 1)
        with open(env.config, "w", encoding="utf-8") as f:
            f.write(text + "\n" + tail)
        r = env.run_cli("check-config", "-c", env.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = env.run_cli("ingest", "-c", env.config, MEDAN)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return env

    # 1 ------------------------------------------------------------------------
    def test_a_store_that_misses_its_deadline(self):
        env = self.world('timezone = "Asia/Jakarta"\n',
                         '[[alerts.subscription]]\nemail = "medan@example.com"\n'
                         'stores = ["Medan"]\n'
                         '[[alerts.expect]]\nwithin_days = 35\nescalate_after_days = 3\n')
        # The out-of-stock alert of the sample, to both subscriptions.
        env.wait_messages(2)
        with contextlib.closing(sqlite3.connect(env.db)) as db:
            db.execute("UPDATE reports SET received_at = received_at - ?", (40 * DAY_MS,))
            db.commit()
        (received,) = env.query("SELECT received_at FROM reports")[0]
        due = datetime.datetime.fromtimestamp((received + 35 * DAY_MS) / 1000,
                                              datetime.timezone(datetime.timedelta(hours=7)))
        months = ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"]
        due_text = f"{due.day} {months[due.month - 1]} {due.year}, {due:%H:%M}"

        env.start_daemon()
        msgs = env.wait_messages(5)
        got = subjects(msgs[2:])
        self.assertEqual(got, sorted([
            ("Report missing: Medan", (harness.RECIPIENT,)),
            ("Report missing: Medan", ("medan@example.com",)),
            (f"Still no report: Medan, due {due_text}", (harness.RECIPIENT,)),
        ]))
        first = next(parse_message(eml) for eml, side in msgs[2:]
                     if side["rcpt_tos"] == ["medan@example.com"])
        body = first.get_body(("plain",)).get_content().replace("\r\n", "\n")
        self.assertIn(f"No stock report from Medan arrived by its deadline, {due_text} "
                      "(Asia/Jakarta; a report is due at most 35 days after the one before).",
                      body)
        self.assertIn("The last report from Medan arrived on", body)
        self.assertIn("missing report: store \"Medan\" is past its deadline", env.daemon.log())

        env.stop_daemon()
        env.start_daemon()
        env.assert_message_count_stays(5, seconds=2.0)

    # 2 ------------------------------------------------------------------------
    def test_a_digest_arrives_once(self):
        env = self.world('timezone = "Asia/Jakarta"\n',
                         '[[alerts.subscription]]\nemail = "digest@example.com"\n'
                         'digest = "daily 07:00"\nevents = ["digest"]\n')
        env.wait_messages(1)  # the out-of-stock alert, to the owner only
        latest, before = harness.latest_daily(7, 7)  # daily 07:00 in Asia/Jakarta (UTC+7)
        mark = "schedule:digest daily 07:00 Asia/Jakarta to digest@example.com []"
        with contextlib.closing(sqlite3.connect(env.db)) as db:
            db.execute("INSERT INTO cursors(name, position) VALUES (?, ?)",
                       (mark, int(before.timestamp() * 1000)))
            db.commit()

        env.start_daemon()
        msgs = env.wait_messages(2)
        eml, side = msgs[1]
        self.assertEqual(side["rcpt_tos"], ["digest@example.com"])
        mail = parse_message(eml)
        months = ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"]
        date = f"{latest.day} {months[latest.month - 1]} {latest.year}"
        self.assertEqual(mail["Subject"], f"Stock digest, {date}: 1 item out of stock")
        body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        self.assertIn("Your daily stock digest, from ", body)
        self.assertIn(f"to {date}, 07:00 (Asia/Jakarta).", body)
        self.assertIn("Out of stock now (1):\n  Medan: Robusta Dairi\n", body)
        self.assertEqual(env.query("SELECT position FROM cursors WHERE name = ?", (mark,)),
                         [(int(latest.timestamp() * 1000),)])

        env.stop_daemon()
        env.start_daemon()
        env.assert_message_count_stays(2, seconds=2.0)


if __name__ == "__main__":
    unittest.main()

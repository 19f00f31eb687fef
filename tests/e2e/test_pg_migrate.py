"""`stockwatch migrate --to postgresql://...` end to end, and word of
queued mail between nodes (LISTEN/NOTIFY), against a real PostgreSQL 15
(pg.py) and a real SMTP server.

- A SQLite database made by this release's daemon (reports loaded, one
  rejected, a duplicate, alerts sent, cursors moved) is copied into an
  empty PostgreSQL database; the counts agree; a daemon on PostgreSQL then
  carries on from where the SQLite one stopped: a new change alerts once,
  nothing old alerts again. A database that is not empty is refused.
- A message queued by another node (its commit NOTIFYs) is sent by a
  daemon at once, not at its next recheck (every 30 s).
"""

import os
import subprocess
import time

import harness
import pg
from harness import parse_message, sample, toml_str

MEDAN = sample("inventory-medan.csv")
MAKASSAR = sample("inventory-makassar.csv")


class PgMigrateTest(pg.PgTestCase):

    def test_a_sqlite_database_moves_over_and_the_daemon_carries_on(self):
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        env.start_daemon()
        env.drop(MEDAN)
        env.drop(MAKASSAR)
        env.wait_messages(2)
        env.drop_text("bad.csv", "store,item,count\nMedan,Robusta Dairi,lots\n")
        env.wait_messages(3)  # the rejection's message
        env.drop(MEDAN, "medan-again.csv")
        env.wait_archived(4)
        env.stop_daemon()
        # A console account, which moves over with the rest.
        added = subprocess.run([harness.BINARY, "user", "add", "medan", "--role", "manager",
                                "--stores", "Medan", "--config", env.config], cwd=env.root,
                               input="a long password\n", capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(added.returncode, 0, added.stderr)
        counts = {t: env.query(f"SELECT count(*) FROM {t}")[0][0]
                  for t in ("reports", "inventory", "changes", "events", "outbox", "accounts")}
        self.assertEqual(counts["accounts"], 1)
        self.assertEqual(counts["reports"], 4)

        db = self.pg.fresh_database()
        url = self.pg.url(db)
        r = env.run_cli("migrate", "--config", env.config, "--to", url)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for table, n in counts.items():
            self.assertIn(f"  {table}: {n} rows\n", r.stdout)
            self.assertEqual(self.sql(db, f"SELECT count(*) FROM {table}"), str(n), table)
        self.assertIn("the row counts agree", r.stdout)
        # The feeds continue after SQLite's numbers; the cursors are where
        # the SQLite checker left them (at the end: everything was checked).
        self.assertEqual(self.sql(db, "SELECT position FROM feeds WHERE name = 'changes'"),
                         self.sql(db, "SELECT position FROM cursors WHERE name = 'changes'"))
        self.assertEqual(self.sql(db, "SELECT count(*) FROM change_log"), str(counts["changes"]))
        # The use figures of first sightings, kept in their inventory rows
        # (SQLite's schema step 14), move over with them.
        for q in ("SELECT count(*) FROM inventory WHERE first_report IS NOT NULL",
                  "SELECT coalesce(sum(first_count), 0) FROM inventory"):
            self.assertEqual(self.sql(db, q), str(env.query(q)[0][0]), q)
        self.assertNotEqual(self.sql(db, "SELECT count(*) FROM inventory "
                                         "WHERE first_report IS NOT NULL"), "0")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM reports WHERE first_sightings"),
                         str(env.query("SELECT count(*) FROM reports "
                                       "WHERE first_sightings <> 0")[0][0]))

        # A second run finds the database full and changes nothing.
        again = env.run_cli("migrate", "--config", env.config, "--to", url)
        self.assertEqual(again.returncode, 1)
        self.assertIn("is not empty: its table reports has 4 rows", again.stderr)

        # The daemon on PostgreSQL: the old alerts stay sent; a new zero
        # alerts once.
        env.write_config(storage=['backend = "postgresql"', f"url = {toml_str(url)}"])
        # The account is there for `stockwatch user` (and the console).
        listed = env.run_cli("user", "list", "--config", env.config)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("medan  manager  stores: Medan", listed.stdout)
        env.start_daemon()
        env.drop_text("medan-later.csv",
                      "store,item,count\nMedan,Arabika Gayo,0\n")
        env.wait_messages(4)
        env.assert_message_count_stays(4, seconds=2.0)
        eml, _ = env.smtp.messages()[3]
        self.assertIn("Medan is out of stock of Arabika Gayo", parse_message(eml).get_content())
        self.assertEqual(self.sql(db, "SELECT count(*) FROM reports WHERE status = 'loaded'"), "3")
        env.stop_daemon()

    def test_migrate_needs_a_sqlite_database_and_a_postgresql_url(self):
        env = self.make_env()
        env.write_config(smtp_url="")
        r = env.run_cli("migrate", "--config", env.config, "--to",
                        self.pg.url(self.pg.fresh_database()))
        self.assertEqual(r.returncode, 1)
        self.assertIn("there is no SQLite database at", r.stderr)
        r = env.run_cli("migrate", "--config", env.config, "--to", "/tmp/x.db")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--to must be a postgresql:// URL", r.stderr)

    def test_mail_queued_by_another_node_is_sent_at_once(self):
        db = self.pg.fresh_database()
        env = self.make_env()
        env.start_smtp()
        env.write_config(storage=['backend = "postgresql"', f"url = {toml_str(self.pg.url(db))}"])
        env.start_daemon()
        time.sleep(1.0)  # past the mailer's first step at start
        eml = ("From: stockwatch@example.com\r\nTo: owner@example.com\r\n"
               "Subject: queued elsewhere\r\nMessage-ID: <elsewhere.1@example.com>\r\n\r\n"
               "Queued by another node.\r\n")
        now_ms = int(time.time() * 1000)
        queued = time.monotonic()
        # What another node's checker commits: the message and the word.
        self.sql(db, "BEGIN; INSERT INTO outbox(message_id, report_id, event, sender, recipient, "
                     "subject, data, state, created_at, next_attempt_at) VALUES "
                     "('<elsewhere.1@example.com>', 0, 'out_of_stock', 'stockwatch@example.com', "
                     f"'owner@example.com', 'queued elsewhere', '{eml}', 'queued', {now_ms}, "
                     f"{now_ms}); SELECT pg_notify('stockwatch_outbox', ''); COMMIT;")
        env.wait_messages(1, timeout=20)
        waited = time.monotonic() - queued
        # The mailer's own recheck comes 30 s after its last step.
        self.assertLess(waited, 10 * harness.DEADLINE_SCALE)
        # The server's 250 comes before the daemon records the delivery: a
        # slow build (a sanitizer's) shows that gap.
        env.wait_for(lambda: self.sql(db, "SELECT state FROM outbox") == "sent",
                     "the message recorded as sent")
        self.assertEqual(self.sql(db, "SELECT state FROM outbox"), "sent")
        env.stop_daemon()


if __name__ == "__main__":
    import unittest
    unittest.main()

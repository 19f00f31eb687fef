"""End to end on PostgreSQL: the real daemon with [storage] backend =
"postgresql" against a real PostgreSQL 15 (started unprivileged by pg.py),
a report dropped into the inbox, and its alert at a real SMTP server; then
two daemons on one database, each alert sent once."""

import os
import unittest

import harness
import pg
from harness import RECIPIENT, parse_message, sample, toml_str

MEDAN = sample("inventory-medan.csv")
MAKASSAR = sample("inventory-makassar.csv")
MEDAN_OOS = "Medan is out of stock of Robusta Dairi"
MAKASSAR_OOS = "Makassar is out of stock of Arabika Kalosi"


class PostgresqlTest(pg.PgTestCase):

    def storage(self, db):
        return ['backend = "postgresql"', f"url = {toml_str(self.pg.url(db))}"]

    def sql(self, db, query):
        return self.pg.psql(db, query).strip()

    def wait_loaded(self, db, n):
        harness.wait_for(
            lambda: self.sql(db, "SELECT count(*) FROM reports WHERE status = 'loaded' "
                                 "AND archived_path <> ''") == str(n),
            f"{n} report(s) loaded and archived in PostgreSQL")

    def test_a_report_dropped_on_postgresql_is_loaded_once_and_alerted(self):
        db = self.pg.fresh_database()
        env = self.make_env()
        env.start_smtp()
        env.write_config(storage=self.storage(db))
        env.start_daemon()
        env.drop(MEDAN)

        (eml, sidecar), = env.wait_messages(1)
        self.assertEqual(sidecar["rcpt_tos"], [RECIPIENT])
        self.assertIn(MEDAN_OOS, parse_message(eml).get_content().splitlines())
        self.wait_loaded(db, 1)
        env.assert_message_count_stays(1)
        self.assertEqual(self.sql(db, "SELECT count(*) FROM inventory"), "6")
        self.assertEqual(self.sql(db, "SELECT count FROM inventory WHERE store = 'Medan' "
                                      "AND item = 'Robusta Dairi'"), "0")
        self.assertEqual(self.sql(db, "SELECT state FROM outbox"), "sent")
        self.assertEqual(os.listdir(env.processed), ["inventory-medan.csv"])
        # Nothing was written beside the configuration: no SQLite file.
        self.assertFalse(os.path.exists(env.db))
        # The same content again is a duplicate, and raises nothing.
        env.drop(MEDAN, "medan-again.csv")
        harness.wait_for(
            lambda: self.sql(db, "SELECT count(*) FROM reports WHERE status = 'duplicate'") == "1",
            "the copy recorded as a duplicate")
        env.assert_message_count_stays(1)
        env.stop_daemon()

    def test_two_daemons_on_one_database_send_each_alert_once(self):
        db = self.pg.fresh_database()
        a = self.make_env()
        b = self.make_env()
        smtp = a.start_smtp()
        for env in (a, b):
            env.write_config(smtp_url=f"smtp://127.0.0.1:{smtp.port}", storage=self.storage(db))
            env.start_daemon()
        a.drop(MEDAN)
        b.drop(MAKASSAR)

        a.wait_messages(2)
        self.wait_loaded(db, 2)
        a.assert_message_count_stays(2, seconds=2.0)
        sentences = set()
        for eml, _ in smtp.messages():
            sentences.update(l for l in parse_message(eml).get_content().splitlines()
                             if " is out of stock of " in l)
        self.assertEqual(sentences, {MEDAN_OOS, MAKASSAR_OOS})
        self.assertEqual(self.sql(db, "SELECT count(*) FROM inventory"), "12")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM outbox WHERE state = 'sent'"), "2")
        for env in (a, b):
            env.stop_daemon()


if __name__ == "__main__":
    unittest.main()

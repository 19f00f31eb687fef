"""Faults on PostgreSQL, end to end: the real daemon against a real
PostgreSQL 15 (pg.py) and a real SMTP server.

- The daemon's connections terminated by pg_terminate_backend: it connects
  again with backoff, /readyz says not ready meanwhile, nothing crashes,
  the next report is loaded once and alerted once.
- PostgreSQL stopped in the middle of a large report's load and started
  again: the report is loaded once afterwards, every row, nothing doubled;
  /readyz names the database while it is away.
- A node killed with SIGKILL in the middle of a load, beside a second node
  on the same database: the second keeps working; the killed node's
  report is loaded once when it comes back.
- A node killed with SIGKILL in the middle of a send (the SMTP server has
  the message but has not answered): its claim holds until the configured
  lease (storage.claim_lease_s) ends, then the other node delivers the
  message, exactly once.
- The database unreachable at start, and a read-only database: a clear
  error and a non-zero exit.
"""

import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request

import harness
import pg
from harness import parse_message, sample, toml_str

MEDAN = sample("inventory-medan.csv")
MAKASSAR = sample("inventory-makassar.csv")


def big_report(path, rows):
    """`rows` rows over 10 stores, the first item of each store at 0."""
    with open(path, "w", encoding="ascii") as f:
        f.write("store,item,count\n")
        per_store = rows // 10
        for s in range(10):
            for i in range(per_store):
                f.write(f"Big{s},Item {i:07d},{0 if i == 0 else (i % 97) + 1}\n")


class PgFaultsTest(pg.PgTestCase):

    def setUp(self):
        self.pg.start_server()  # a test that failed half-way may have left it stopped

    def storage(self, db):
        return ['backend = "postgresql"', f"url = {toml_str(self.pg.url(db))}"]

    def sql(self, db, query):
        return self.pg.psql(db, query).strip()

    def serve(self, env, db, node=None):
        env.write_config(storage=self.storage(db))
        with open(env.config, "a", encoding="utf-8") as f:
            # The console keeps its accounts in SQLite for now: off here.
            f.write('\n[http]\nlisten = "127.0.0.1:0"\n\n[console]\nenabled = false\n')
            if node:
                f.write(f'\n[node]\nname = "{node}"\n')
        env.start_daemon()
        m = re.search(r"http: listening on \S+ \(port (\d+)\)", env.daemon.log())
        self.assertIsNotNone(m, env.daemon.log())
        return int(m.group(1))

    def readyz(self, port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=15) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def loaded(self, db, name):
        return self.sql(db, "SELECT count(*) FROM reports WHERE status = 'loaded' "
                            f"AND path LIKE '%{name}'")

    def test_terminated_connections_are_made_again_and_readyz_says_so(self):
        db = self.pg.fresh_database()
        env = self.make_env()
        env.start_smtp()
        port = self.serve(env, db, node="node-a")
        status, body = self.readyz(port)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["node"], "node-a")
        env.drop(MEDAN)
        env.wait_messages(1)

        killed = self.sql(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              f"WHERE datname = '{db}' AND application_name = 'stockwatch'")
        self.assertGreaterEqual(int(killed), 3)  # loading, mail, HTTP
        # The first question after the loss finds it: not ready, with why.
        status, body = self.readyz(port)
        self.assertEqual(status, 503, body)
        self.assertEqual(body["components"]["database"]["state"], "error")
        self.assertIn("PostgreSQL", body["components"]["database"]["error"])
        # Then each connection is made again, and the daemon works on.
        harness.wait_for(lambda: self.readyz(port)[0] == 200, "/readyz ready again")
        env.drop(MAKASSAR)
        env.wait_messages(2)
        harness.wait_for(lambda: self.loaded(db, "inventory-makassar.csv") == "1",
                         "the second report loaded")
        env.assert_message_count_stays(2)
        log = env.daemon.log()
        self.assertIn("connection lost", log)
        self.assertIn("connected again", log)
        # Every line names the node (on PostgreSQL, and here it is set).
        for line in log.splitlines():
            if line.strip():
                self.assertIn("[node-a] ", line)
        self.assertIsNone(env.daemon.proc.poll(), log)
        env.stop_daemon()

    def test_postgresql_restarted_in_the_middle_of_a_load(self):
        db = self.pg.fresh_database()
        env = self.make_env()
        env.start_smtp()
        port = self.serve(env, db)
        rows = 400_000
        staged = os.path.join(env.root, "big.csv")
        big_report(staged, rows)
        os.rename(staged, os.path.join(env.inbox, "big.csv"))
        # Mid-load: the loading connection has a transaction open.
        harness.wait_for(
            lambda: self.sql(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                                 "application_name = 'stockwatch' AND xact_start IS NOT NULL "
                                 f"AND datname = '{db}' AND pid <> pg_backend_pid()") != "0",
            "the load to begin", interval=0.01)
        self.pg.stop_server("fast")
        status, body = self.readyz(port)
        self.assertEqual(status, 503, body)
        self.assertIn("PostgreSQL", body["components"]["database"]["error"])
        self.pg.start_server()
        harness.wait_for(lambda: self.loaded(db, "big.csv") == "1",
                         "the report loaded after the restart", timeout=240)
        self.assertEqual(self.sql(db, "SELECT count(*) FROM inventory"), str(rows))
        self.assertEqual(self.sql(db, "SELECT count(*) FROM reports WHERE status = 'loaded'"),
                         "1")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM changes"), str(rows))
        # The ten items at 0 are alerted once: one message for the report.
        env.wait_messages(1, timeout=120)
        env.assert_message_count_stays(1, seconds=2.0)
        harness.wait_for(lambda: self.readyz(port)[0] == 200, "/readyz ready again")
        self.assertIsNone(env.daemon.proc.poll())
        env.stop_daemon()

    def test_a_node_killed_mid_load_loses_nothing_and_doubles_nothing(self):
        db = self.pg.fresh_database()
        a = self.make_env()
        b = self.make_env()
        smtp = a.start_smtp()
        for env, node in ((a, "node-a"), (b, "node-b")):
            env.write_config(smtp_url=f"smtp://127.0.0.1:{smtp.port}", storage=self.storage(db))
            with open(env.config, "a", encoding="utf-8") as f:
                f.write(f'\n[node]\nname = "{node}"\n')
            env.start_daemon()
        rows = 300_000
        staged = os.path.join(a.root, "big.csv")
        big_report(staged, rows)
        os.rename(staged, os.path.join(a.inbox, "big.csv"))
        harness.wait_for(
            lambda: self.sql(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                                 "application_name = 'stockwatch' AND xact_start IS NOT NULL "
                                 f"AND datname = '{db}' AND pid <> pg_backend_pid()") != "0",
            "node A's load to begin", interval=0.01)
        a.daemon.proc.send_signal(signal.SIGKILL)
        a.daemon.proc.wait()
        # Node B works on meanwhile.
        b.drop(MEDAN)
        harness.wait_for(lambda: self.loaded(db, "inventory-medan.csv") == "1",
                         "node B's report loaded")
        harness.wait_for(lambda: smtp.count() == 1, "node B's alert sent")
        self.assertEqual(self.loaded(db, "big.csv"), "0")  # nothing of A's half load
        # A comes back and loads its report, once.
        a.start_daemon()
        harness.wait_for(lambda: self.loaded(db, "big.csv") == "1", "node A's report loaded",
                         timeout=240)
        self.assertEqual(self.sql(db, "SELECT count(*) FROM inventory"), str(rows + 6))
        self.assertEqual(self.sql(db, "SELECT count(*) FROM changes"), str(rows + 6))
        harness.wait_for(lambda: smtp.count() == 2, "node A's alert sent", timeout=120)
        a.assert_message_count_stays(2, seconds=2.0)
        ids = [parse_message(eml)["Message-ID"] for eml, _ in smtp.messages()]
        self.assertEqual(len(set(ids)), 2, ids)
        for env in (a, b):
            env.stop_daemon()

    def test_a_node_killed_mid_send_the_other_delivers_once_after_the_lease(self):
        db = self.pg.fresh_database()
        a = self.make_env()
        b = self.make_env()
        hold = os.path.join(a.root, "hold-data")
        open(hold, "w").close()
        # The server holds its answer to DATA while `hold` exists: the node
        # that sends first waits there, with the message claimed.
        smtp = a.start_smtp(hold_file=hold)
        lease = 12  # seconds; smtp.timeout_s is 10 in the harness
        nodes = {}
        for env, node in ((a, "node-a"), (b, "node-b")):
            env.write_config(smtp_url=f"smtp://127.0.0.1:{smtp.port}",
                             storage=self.storage(db) + [f"claim_lease_s = {lease}"])
            with open(env.config, "a", encoding="utf-8") as f:
                f.write(f'\n[node]\nname = "{node}"\n')
            env.start_daemon()
            nodes[node] = env
        a.drop(MEDAN)
        harness.wait_for(lambda: smtp.held(), "a node to be in the middle of sending")
        claimed_by = self.sql(db, "SELECT claimed_by FROM outbox WHERE state = 'queued'")
        m = re.match(r"serve@(node-[ab]) pid (\d+)$", claimed_by)
        self.assertIsNotNone(m, claimed_by)
        sender, survivor = (nodes["node-a"], nodes["node-b"]) if m.group(1) == "node-a" else \
            (nodes["node-b"], nodes["node-a"])
        self.assertEqual(int(m.group(2)), sender.daemon.proc.pid)
        expires = int(self.sql(db, "SELECT claim_expires_at FROM outbox"))
        sender.daemon.proc.send_signal(signal.SIGKILL)
        sender.daemon.proc.wait()
        # The server saw the killed client's connection end while it held
        # the message, so it accepted nothing.
        os.unlink(hold)
        # The claim holds until its lease ends: the survivor does not send
        # before (a send already accepted would otherwise go out twice).
        now_ms = int(self.sql(db, "SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint"))
        if expires - now_ms > 3000:
            a.assert_message_count_stays(0, seconds=(expires - now_ms - 2000) / 1000)
        harness.wait_for(lambda: smtp.count() == 1, "the other node to send after the lease",
                         timeout=lease + 60)
        now_ms = int(self.sql(db, "SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint"))
        self.assertGreaterEqual(now_ms, expires)
        a.assert_message_count_stays(1, seconds=2.0)
        self.assertEqual(self.sql(db, "SELECT state, attempts FROM outbox"), "sent|1")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM reports WHERE status = 'loaded'"), "1")
        self.assertIn(": sent", survivor.daemon.log())
        # One Message-ID reached the server twice (the held attempt, the
        # delivery); it was accepted once.
        ids = [parse_message(eml)["Message-ID"] for eml, _ in smtp.messages()]
        self.assertEqual(len(ids), 1)
        survivor.stop_daemon()

    def test_an_unreachable_database_at_start_is_a_clear_error(self):
        env = self.make_env()
        nowhere = os.path.join(env.root, "no-server")
        os.makedirs(nowhere)
        env.write_config(smtp_url="", storage=[
            'backend = "postgresql"',
            f"url = {toml_str(f'postgresql://stockwatch@/x?host={nowhere}&connect_timeout=2')}"])
        r = subprocess.run([harness.BINARY, "serve", "--config", env.config], cwd=env.root,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot connect to PostgreSQL at postgresql://stockwatch@/x", r.stderr)

    def test_a_read_only_database_is_refused(self):
        db = self.pg.fresh_database()
        self.sql(db, f"ALTER DATABASE {db} SET default_transaction_read_only = on")
        env = self.make_env()
        env.write_config(smtp_url="", storage=self.storage(db))
        r = subprocess.run([harness.BINARY, "serve", "--config", env.config], cwd=env.root,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is read-only", r.stderr)
        self.assertIn("storage.url must name the primary server", r.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()

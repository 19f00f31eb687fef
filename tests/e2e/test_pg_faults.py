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

No step here waits a fixed time or races the machine's speed: each waits
for a state it can see (a load's COPY in pg_stat_activity, the ledger, the
outbox), with generous limits for a busy machine, and "no second message"
is checked once every daemon has stopped, when none can come any more.
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
# The limit for a step that takes well under a second on a quiet machine:
# generous, as other work may share the cores; a test that passes does not
# wait for it.
SLOW = 120


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

    def wait_loading(self, db, what):
        """Waits until a report's rows are being copied into the database
        (its transaction open, a batch sent with COPY, into the stage or,
        for a first load, straight into the inventory): mid-load."""
        harness.wait_for(
            lambda: self.sql(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                                 "application_name = 'stockwatch' AND xact_start IS NOT NULL "
                                 f"AND datname = '{db}' AND query LIKE 'COPY %'") != "0",
            what, timeout=SLOW, interval=0.01)

    def wait_settled(self, db, smtp, messages):
        """Waits until nothing more is to be sent: the checker and the
        forecast have read every change and rejection, the outbox holds
        `messages` messages, all sent, and the SMTP server has that many."""
        def settled():
            state = self.sql(
                db, "SELECT (SELECT count(*) FROM outbox), "
                    "(SELECT count(*) FROM outbox WHERE state <> 'sent'), "
                    "(SELECT bool_and(c.position >= f.position) FROM cursors c JOIN feeds f "
                    "  ON f.name = CASE c.name WHEN 'usage' THEN 'changes' ELSE c.name END "
                    "  WHERE c.name IN ('changes', 'rejected', 'usage'))")
            return state == f"{messages}|0|t" and smtp.count() == messages
        harness.wait_for(settled, f"{messages} message(s) sent and nothing left to send",
                         timeout=SLOW)

    def assert_sent_once(self, smtp, messages, *envs):
        """Stops the daemons, then checks that the SMTP server has exactly
        `messages` messages, each Message-ID once: with no daemon running,
        none can come later."""
        for env in envs:
            env.stop_daemon()
        self.assertEqual(smtp.count(), messages)
        ids = [parse_message(eml)["Message-ID"] for eml, _ in smtp.messages()]
        self.assertEqual(len(set(ids)), messages, ids)

    def test_terminated_connections_are_made_again_and_readyz_says_so(self):
        db = self.pg.fresh_database()
        env = self.make_env()
        env.start_smtp()
        port = self.serve(env, db, node="node-a")
        status, body = self.readyz(port)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["node"], "node-a")
        env.drop(MEDAN)
        env.wait_messages(1, timeout=SLOW)

        killed = self.sql(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              f"WHERE datname = '{db}' AND application_name = 'stockwatch'")
        self.assertGreaterEqual(int(killed), 3)  # loading, mail, HTTP
        # The first question after the loss finds it: not ready, with why.
        status, body = self.readyz(port)
        self.assertEqual(status, 503, body)
        self.assertEqual(body["components"]["database"]["state"], "error")
        self.assertIn("PostgreSQL", body["components"]["database"]["error"])
        # Then each connection is made again, and the daemon works on.
        harness.wait_for(lambda: self.readyz(port)[0] == 200, "/readyz ready again",
                         timeout=SLOW)
        env.drop(MAKASSAR)
        harness.wait_for(lambda: self.loaded(db, "inventory-makassar.csv") == "1",
                         "the second report loaded", timeout=SLOW)
        self.wait_settled(db, env.smtp, 2)
        log = env.daemon.log()
        self.assertIn("connection lost", log)
        self.assertIn("connected again", log)
        # Every line names the node (on PostgreSQL, and here it is set).
        for line in log.splitlines():
            if line.strip():
                self.assertIn("[node-a] ", line)
        self.assertIsNone(env.daemon.proc.poll(), log)
        self.assert_sent_once(env.smtp, 2, env)

    def test_postgresql_restarted_in_the_middle_of_a_load(self):
        db = self.pg.fresh_database()
        env = self.make_env()
        env.start_smtp()
        port = self.serve(env, db)
        rows = 400_000
        staged = os.path.join(env.root, "big.csv")
        big_report(staged, rows)
        os.rename(staged, os.path.join(env.inbox, "big.csv"))
        self.wait_loading(db, "the load to begin")
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
        self.wait_settled(db, env.smtp, 1)
        harness.wait_for(lambda: self.readyz(port)[0] == 200, "/readyz ready again",
                         timeout=SLOW)
        self.assertIsNone(env.daemon.proc.poll())
        self.assert_sent_once(env.smtp, 1, env)

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
        # Only node A loads a report now: the COPY seen is its.
        self.wait_loading(db, "node A's load to begin")
        a.daemon.proc.send_signal(signal.SIGKILL)
        a.daemon.proc.wait()
        # Node B works on meanwhile.
        b.drop(MEDAN)
        harness.wait_for(lambda: self.loaded(db, "inventory-medan.csv") == "1",
                         "node B's report loaded", timeout=SLOW)
        harness.wait_for(lambda: smtp.count() == 1, "node B's alert sent", timeout=SLOW)
        self.assertEqual(self.loaded(db, "big.csv"), "0")  # nothing of A's half load
        # A comes back and loads its report, once.
        a.start_daemon()
        harness.wait_for(lambda: self.loaded(db, "big.csv") == "1", "node A's report loaded",
                         timeout=240)
        self.assertEqual(self.sql(db, "SELECT count(*) FROM inventory"), str(rows + 6))
        self.assertEqual(self.sql(db, "SELECT count(*) FROM changes"), str(rows + 6))
        self.wait_settled(db, smtp, 2)
        self.assert_sent_once(smtp, 2, a, b)

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
        harness.wait_for(lambda: smtp.held(), "a node to be in the middle of sending",
                         timeout=SLOW)
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
        harness.wait_for(lambda: smtp.count() == 1, "the other node to send after the lease",
                         timeout=lease + SLOW)
        # The claim held until its lease ended: the survivor sent only after
        # (a send already accepted would otherwise go out twice). The server
        # wrote the message when it accepted it, after the survivor claimed
        # it; the same clock as the lease's (a file's time may trail it by
        # a clock tick, hence 20 ms; a send that did not wait would be
        # seconds early).
        accepted_ms = os.stat(os.path.join(smtp.outdir, "1.eml")).st_mtime_ns // 1_000_000
        self.assertGreaterEqual(accepted_ms, expires - 20)
        self.wait_settled(db, smtp, 1)
        self.assertEqual(self.sql(db, "SELECT state, attempts FROM outbox"), "sent|1")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM reports WHERE status = 'loaded'"), "1")
        self.assertIn(": sent", survivor.daemon.log())
        # One Message-ID reached the server twice (the held attempt, the
        # delivery); it was accepted once.
        self.assert_sent_once(smtp, 1, survivor)

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

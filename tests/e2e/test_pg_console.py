"""The web console on PostgreSQL, end to end: two real daemons sharing one
real PostgreSQL 15 (pg.py). The accounts and sessions live in that
database, so `stockwatch user` manages them with backend = "postgresql",
and a session begun on node A is good on node B (nodes behind a load
balancer); signing out on B ends it on A too."""

import os
import re
import subprocess

import harness
import pg
from harness import sample, toml_str

MEDAN = sample("inventory-medan.csv")
PASSWORD = "a long owner password"


class PgConsoleTest(pg.PgTestCase):

    def curl(self, *args):
        """(status, headers, body) of one request, redirects not followed."""
        p = subprocess.run(["curl", "-sS", "-D", "-", "-o", "-", *args],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        head, _, body = p.stdout.partition("\n\n")
        while head.startswith("HTTP/1.1 100"):  # an interim answer first
            head, _, body = body.partition("\n\n")
        status = int(head.split(" ", 2)[1])
        return status, head, body

    def test_accounts_and_sessions_are_shared_by_the_nodes(self):
        db = self.pg.fresh_database()
        storage = ['backend = "postgresql"', f"url = {toml_str(self.pg.url(db))}"]
        a = self.make_env()
        b = self.make_env()
        smtp = a.start_smtp()
        ports = {}
        for env, node in ((a, "node-a"), (b, "node-b")):
            env.write_config(smtp_url=f"smtp://127.0.0.1:{smtp.port}", storage=storage)
            with open(env.config, "a", encoding="utf-8") as f:
                f.write(f'\n[http]\nlisten = "127.0.0.1:0"\n\n[node]\nname = "{node}"\n')
            env.start_daemon()
            m = re.search(r"http: listening on \S+ \(port (\d+)\)", env.daemon.log())
            self.assertIsNotNone(m, env.daemon.log())
            ports[node] = int(m.group(1))

        # `stockwatch user` works on PostgreSQL, beside the running nodes.
        for name, role in (("owner", ["--role", "owner"]),
                           ("medan", ["--role", "manager", "--stores", "Medan"])):
            r = subprocess.run([harness.BINARY, "user", "add", name, *role, "--config", a.config],
                               cwd=a.root, input=PASSWORD + "\n", capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = b.run_cli("user", "list", "--config", b.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("owner  owner", r.stdout)
        self.assertIn("medan  manager  stores: Medan", r.stdout)
        self.assertEqual(self.sql(db, "SELECT count(*) FROM accounts"), "2")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM accounts WHERE password_hash "
                                      "LIKE '$argon2id$%'"), "2")

        a.drop(MEDAN)
        a.wait_messages(1)

        # Signed in on node A...
        base_a = f"http://127.0.0.1:{ports['node-a']}"
        base_b = f"http://127.0.0.1:{ports['node-b']}"
        status, head, _ = self.curl("--data", f"name=owner&password={PASSWORD.replace(' ', '+')}",
                                    f"{base_a}/_console/sign-in")
        self.assertEqual(status, 303, head)
        m = re.search(r"(?im)^set-cookie: (stockwatch_session=[0-9a-f]+)", head)
        self.assertIsNotNone(m, head)
        cookie = m.group(1)
        self.assertEqual(self.sql(db, "SELECT count(*) FROM sessions"), "1")
        # ... the session is good on node B, which shows the shared data.
        status, head, body = self.curl("-H", f"Cookie: {cookie}", f"{base_b}/_console/inventory")
        self.assertEqual(status, 200, head + body)
        self.assertIn("Robusta Dairi", body, head)
        # The overview reads each store's newest report and its items at 0.
        status, head, body = self.curl("-H", f"Cookie: {cookie}", f"{base_b}/_console/")
        self.assertEqual(status, 200, head + body)
        self.assertIn("Medan", body)
        # A failed sign-in on B is kept where the owner sees it from A.
        status, _, _ = self.curl("--data", "name=owner&password=wrong+password+here",
                                 f"{base_b}/_console/sign-in")
        self.assertEqual(status, 401)
        self.assertEqual(self.sql(db, "SELECT name FROM sign_in_failures"), "owner")
        # A new password (from the command line) ends the session on both.
        r = subprocess.run([harness.BINARY, "user", "passwd", "owner", "--config", b.config],
                           cwd=b.root, input="another long password\n", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        for base in (base_a, base_b):
            status, head, _ = self.curl("-H", f"Cookie: {cookie}", f"{base}/_console/inventory")
            self.assertEqual(status, 303, head)
            self.assertIn("/_console/sign-in", head)
        for env in (a, b):
            env.stop_daemon()


if __name__ == "__main__":
    import unittest
    unittest.main()

"""Two nodes polling one shared inbox folder, on one PostgreSQL database
(pg.py) and one real SMTP server: each file is claimed through the
database, so every report is loaded exactly once and every alert sent
exactly once, whichever node took it."""

import os
import re

import harness
import pg
from harness import parse_message, toml_str

REPORTS = 40


class PgSharedInboxTest(pg.PgTestCase):

    def test_two_nodes_on_one_folder_load_each_report_once(self):
        db = self.pg.fresh_database()
        a = self.make_env()
        b = self.make_env()
        smtp = a.start_smtp()
        # One folder, one archive: node B's paths are node A's.
        b.inbox, b.processed, b.failed = a.inbox, a.processed, a.failed
        for env, node in ((a, "node-a"), (b, "node-b")):
            env.write_config(smtp_url=f"smtp://127.0.0.1:{smtp.port}",
                             storage=['backend = "postgresql"',
                                      f"url = {toml_str(self.pg.url(db))}"],
                             extra_inbox=["shared = true", 'mode = "poll"',
                                          "poll_interval_ms = 100"],
                             settle_ms=0)
            with open(env.config, "a", encoding="utf-8") as f:
                f.write(f'\n[node]\nname = "{node}"\n')
            env.start_daemon()
        staged = os.path.join(a.root, "staged")
        os.makedirs(staged)
        for i in range(REPORTS):
            with open(os.path.join(staged, f"r{i:03d}.csv"), "w", encoding="ascii") as f:
                f.write(f"store,item,count\nS{i:03d},Robusta,0\nS{i:03d},Arabika,7\n")
        for name in sorted(os.listdir(staged)):
            os.rename(os.path.join(staged, name), os.path.join(a.inbox, name))

        harness.wait_for(
            lambda: self.sql(db, "SELECT count(*) FROM reports WHERE archived_path <> ''")
            == str(REPORTS), "every report loaded and archived")
        harness.wait_for(lambda: smtp.count() >= REPORTS, "every alert sent")
        a.assert_message_count_stays(REPORTS, seconds=2.0)
        self.assertEqual(self.sql(db, "SELECT count(*), count(DISTINCT path) FROM reports "
                                      "WHERE status = 'loaded'"), f"{REPORTS}|{REPORTS}")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM reports WHERE status <> 'loaded'"),
                         "0")
        self.assertEqual(self.sql(db, "SELECT count(*) FROM inbox_claims"), "0")
        self.assertEqual(sorted(os.listdir(a.processed)),
                         [f"r{i:03d}.csv" for i in range(REPORTS)])
        self.assertEqual(os.listdir(a.inbox), [])
        stores = sorted(re.search(r"S\d{3}", parse_message(eml).get_content()).group(0)
                        for eml, _ in smtp.messages())
        self.assertEqual(stores, [f"S{i:03d}" for i in range(REPORTS)])
        # Each node says which reports it loaded; together, each once.
        loaded = {}
        for env in (a, b):
            for name in re.findall(r"\] (r\d{3}\.csv): loaded 2 rows", env.daemon.log()):
                loaded[name] = loaded.get(name, 0) + 1
        self.assertEqual(loaded, {f"r{i:03d}.csv": 1 for i in range(REPORTS)})
        for env in (a, b):
            env.stop_daemon()


if __name__ == "__main__":
    import unittest
    unittest.main()

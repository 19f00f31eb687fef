"""End to end: the log format under systemd (JOURNAL_STREAM naming the
daemon's standard error: a syslog priority prefix, no timestamp) and
elsewhere, and --log-level: on `serve` it wins over log.level, also after a
SIGHUP reload; on the other commands it replaces their default (warnings)."""

import os
import re
import signal
import unittest

import harness
from harness import sample

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
FIFO_SKIPPED = "is not a regular file; skipped"   # logged at debug level


class LoggingTestCase(harness.PipelineTestCase):

    def serving(self, *args, journal_stream=None, level=None):
        env = self.make_env()
        env.start_smtp()
        self.write_config(env, level)
        if journal_stream is True:
            # What systemd does: the device and inode of the daemon's stderr.
            open(env.daemon_log, "ab").close()
            st = os.stat(env.daemon_log)
            journal_stream = f"{st.st_dev}:{st.st_ino}"
        with harness.environment(JOURNAL_STREAM=journal_stream):
            env.start_daemon(*args)
        return env

    def write_config(self, env, level=None):
        env.write_config()
        if level:
            with open(env.config, "a", encoding="utf-8") as f:
                f.write(f'\n[log]\nlevel = "{level}"\n')

    def reload(self, env):
        """SIGHUP, then waits for the reload to be logged; returns the log
        offset from before the signal."""
        mark = len(env.daemon.log())
        env.daemon.proc.send_signal(signal.SIGHUP)
        env.wait_for(lambda: "SIGHUP: configuration reloaded" in env.daemon.log()[mark:],
                     "the reload")
        return mark

    def fifo(self, env, name):
        """A FIFO named like a report in the inbox: the inbox skips it
        with a debug line."""
        os.mkfifo(os.path.join(env.inbox, name))

    def wait_logged(self, env, text, since=0):
        env.wait_for(lambda: text in env.daemon.log()[since:], repr(text))


class JournalFormatTest(LoggingTestCase):

    def test_under_the_journal_each_line_has_a_priority_and_no_timestamp(self):
        env = self.serving(journal_stream=True)
        env.drop(sample("inventory-medan.csv"))
        env.wait_messages(1)
        env.drop_text("broken.csv", "store,item\nMedan,Kopi\n")          # rejected: a warning
        env.wait_archived(2)
        with open(env.config, "w", encoding="utf-8") as f:                  # refused: errors
            f.write("[smtp\n")
        env.daemon.proc.send_signal(signal.SIGHUP)
        self.wait_logged(env, "keeping the running configuration")
        env.stop_daemon()

        lines = env.daemon.log().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]> ", "a priority prefix on every line")
            self.assertNotRegex(line, TIMESTAMP, "the journal adds the time itself")
        text = "\n".join(lines)
        self.assertRegex(text, r"(?m)^<6> stockwatch started: ")
        self.assertRegex(text, r"(?m)^<6> inventory-medan\.csv: loaded 6 rows")
        self.assertRegex(text, r"(?m)^<4> broken\.csv: ")
        self.assertRegex(text, r"(?m)^<3> SIGHUP: .* keeping the running configuration")

    def test_a_journal_stream_of_another_file_is_ignored(self):
        # Inherited from a service by a process whose output goes elsewhere.
        env = self.serving(journal_stream="1:2")
        env.stop_daemon()
        self.assertRegex(env.daemon.log(),
                         rf"(?m)^{TIMESTAMP.pattern}\.\d{{3}} info  stockwatch started: ")
        self.assertNotRegex(env.daemon.log(), r"(?m)^<\d>")

    def test_without_journal_stream_lines_have_a_timestamp_and_a_level(self):
        env = self.serving()
        env.stop_daemon()
        for line in env.daemon.log().splitlines():
            self.assertRegex(line, rf"^{TIMESTAMP.pattern}\.\d{{3}} [a-z]+ +\S")


class LogLevelTest(LoggingTestCase):

    def test_command_line_level_outlasts_a_reload(self):
        env = self.serving("--log-level", "debug", level="warn")
        self.fifo(env, "pipe-1.csv")
        self.wait_logged(env, f"pipe-1.csv {FIFO_SKIPPED}")

        mark = self.reload(env)
        self.assertIn('SIGHUP: log.level "warn" is not applied: --log-level debug from the '
                      "command line stays in effect", env.daemon.log()[mark:])
        self.fifo(env, "pipe-2.csv")
        self.wait_logged(env, f"pipe-2.csv {FIFO_SKIPPED}", mark)
        env.drop(sample("inventory-medan.csv"))
        env.wait_messages(1)
        self.wait_logged(env, "inventory-medan.csv: loaded 6 rows", mark)
        env.stop_daemon()

    def test_without_it_a_reload_applies_the_configured_level(self):
        env = self.serving(level="info")
        self.write_config(env, "debug")
        mark = self.reload(env)
        self.assertNotIn("is not applied", env.daemon.log()[mark:])
        self.fifo(env, "pipe-1.csv")
        self.wait_logged(env, f"pipe-1.csv {FIFO_SKIPPED}", mark)
        env.stop_daemon()

    def test_before_or_after_the_subcommand_on_other_commands(self):
        # A new database is created with an info line; by default the
        # commands log warnings only.
        for args, shown in (([], False), (["--log-level", "info"], True),
                            (["ingest", "--log-level", "info"], True)):
            with self.subTest(args=args):
                env = self.make_env()
                env.write_config()
                if not args or args[0] != "ingest":
                    args = [*args, "ingest"]
                r = env.run_cli(*args, "--config", env.config, sample("inventory-medan.csv"))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(bool(re.search(r"(?m) info +database .*: created schema version",
                                                r.stderr)), shown, r.stderr)

    def test_an_unknown_level_is_refused(self):
        env = self.make_env()
        env.write_config()
        r = env.run_cli("serve", "--config", env.config, "--log-level", "loud")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--log-level", r.stderr)


if __name__ == "__main__":
    unittest.main()

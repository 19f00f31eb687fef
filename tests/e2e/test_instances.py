"""End to end: one daemon per database, and `ingest` beside it.

A second `stockwatch serve` on the database of a running one is refused
with a plain message naming the running one's pid, whether or not
http.listen is set. `stockwatch ingest` beside a running daemon is allowed,
and the two never deliver one message twice: each claims a message before
sending it. The SMTP server (tests/support/smtp_server.py) holds its reply
to DATA while a file exists, so that a delivery is caught in the middle.
"""

import json
import os
import socket
import subprocess
import unittest

import harness
from harness import BINARY, parse_message, wait_for


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SecondServeTest(harness.PipelineTestCase):
    def check_refused(self, http_lines):
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        if http_lines:
            with open(env.config, "a", encoding="utf-8") as f:
                f.write("\n[http]\n" + "\n".join(http_lines) + "\n")
        first = env.start_daemon()
        second = env.run_cli("serve", "--config", env.config, timeout=30)
        self.assertNotEqual(second.returncode, 0, second.stdout + second.stderr)
        self.assertIn("another stockwatch is already running on the database " + env.db,
                      second.stderr)
        self.assertIn(f"(pid {first.proc.pid})", second.stderr)
        self.assertNotIn("cannot listen", second.stderr)
        # The first one goes on undisturbed.
        self.assertIsNone(first.proc.poll())
        env.drop_text("medan.csv", "store,item,count\nMedan,Robusta,0\n")
        env.wait_messages(1)
        env.stop_daemon()
        # Once it has stopped, a new one starts.
        env.start_daemon()
        env.stop_daemon()

    def test_a_second_serve_with_http_listen_is_refused(self):
        self.check_refused([f'listen = "127.0.0.1:{free_port()}"'])

    def test_a_second_serve_without_http_is_refused(self):
        self.check_refused(None)


class IngestBesideServeTest(harness.PipelineTestCase):
    def test_ingest_and_serve_send_no_message_twice(self):
        env = self.make_env()
        hold = os.path.join(env.root, "hold")
        open(hold, "w").close()
        env.start_smtp(hold_file=hold)
        env.write_config()
        # Long enough for a held delivery to wait for the release.
        with open(env.config, encoding="utf-8") as f:
            text = f.read().replace("timeout_s = 10", "timeout_s = 120")
        with open(env.config, "w", encoding="utf-8") as f:
            f.write(text)
        env.start_daemon()

        # The daemon's alert is caught in the middle of its delivery.
        env.drop_text("medan.csv", "store,item,count\nMedan,Robusta,0\n")
        wait_for(lambda: len(env.smtp.held()) == 1, "the daemon's alert to be held")
        daemon_msg = env.smtp.held()[0]

        # `ingest` queues its own alert and delivers what is due and not
        # claimed: its own message, never the daemon's.
        report = os.path.join(env.root, "padang.csv")
        with open(report, "w", encoding="utf-8") as f:
            f.write("store,item,count\nPadang,Gayo,0\n")
        ingest = subprocess.Popen([BINARY, "ingest", "--config", env.config, report],
                                  cwd=env.root, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(env.smtp.held()) == 2, "ingest's alert to be held")
            self.assertEqual(env.smtp.held()[0], daemon_msg)
            os.unlink(hold)
            out, err = ingest.communicate(timeout=60)
        finally:
            if ingest.poll() is None:
                ingest.kill()
                ingest.wait()
        self.assertEqual(ingest.returncode, 0, out + err)
        self.assertIn("1 sent", out)

        messages = env.wait_messages(2)
        env.assert_message_count_stays(2, seconds=3.0)
        ids = [parse_message(eml)["Message-ID"] for eml, _ in messages]
        self.assertEqual(len(set(ids)), 2, ids)
        self.assertEqual(sorted(env.smtp.held()), sorted(ids))
        # Every DATA the server saw: each message offered once, not only
        # accepted once.
        with open(os.path.join(env.smtp.outdir, "attempts.jsonl"), encoding="utf-8") as f:
            attempts = [json.loads(line)["message_id"] for line in f if line.strip()]
        self.assertEqual(sorted(attempts), sorted(ids))
        wait_for(lambda: [m["state"] for m in env.outbox()] == ["sent", "sent"],
                 "both messages recorded as sent")
        self.assertEqual([m["attempts"] for m in env.outbox()], [1, 1])
        env.stop_daemon()


if __name__ == "__main__":
    unittest.main()

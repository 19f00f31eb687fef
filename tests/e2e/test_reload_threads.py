"""End to end: a SIGHUP while every thread of the daemon is at work.

The event loop reads the new file and replaces its configuration while the
HTTP thread answers requests, the console's worker renders pages and the
mailbox thread waits on the IMAP server. Each must go on with the settings
it was given, never reading the loop's configuration as it changes (under
ThreadSanitizer, `make test-tsan`, such a read is reported as a data race,
and the harness fails the test on any report in the daemon's log)."""

import os
import re
import signal
import sys
import unittest
import urllib.error
import urllib.request

import harness
from harness import toml_str

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "tests", "support"))
import imap_server  # noqa: E402
from test_mailbox import BINJAI, MAILBOX, csv_attachment, mail  # noqa: E402


class ReloadThreadsTest(harness.PipelineTestCase):

    def setUp(self):
        self.env = self.make_env()
        self.env.start_smtp()

    def write_config(self, console_limit, mailbox_lines=()):
        self.env.write_config()
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write("\n".join([
                "",
                "[http]",
                'listen = "127.0.0.1:0"',
                'token = "api-token"',
                "",
                "[console]",
                f"max_upload_bytes = {console_limit}",
                *mailbox_lines,
                "",
            ]))

    def reload(self):
        before = self.env.daemon.log().count("SIGHUP: configuration reloaded")
        self.env.daemon.proc.send_signal(signal.SIGHUP)
        self.env.wait_for(lambda: self.env.daemon.log().count("SIGHUP: configuration reloaded")
                          > before, "the reload")

    def base_url(self):
        m = re.search(r"http: listening on \S+ \(port (\d+)\)", self.env.daemon.log())
        self.assertIsNotNone(m, self.env.daemon.log())
        return f"http://127.0.0.1:{m.group(1)}"

    def post_upload(self, base, size):
        """POSTs a `size`-byte upload form; the status code."""
        req = urllib.request.Request(
            base + "/_console/upload", data=b"x" * size, method="POST",
            headers={"Content-Type": "multipart/form-data; boundary=b", "Origin": base})
        try:
            with urllib.request.urlopen(req, timeout=30 * harness.DEADLINE_SCALE) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def test_the_console_upload_limit_from_a_reload_holds_for_the_next_request(self):
        self.write_config(console_limit=4096)
        self.env.start_daemon()
        base = self.base_url()
        # Under the limit: read, then refused for want of a session.
        self.assertEqual(self.post_upload(base, 2000), 401)
        self.write_config(console_limit=1000)
        self.reload()
        # The HTTP thread answers 413 before reading the form.
        self.assertEqual(self.post_upload(base, 2000), 413)
        self.write_config(console_limit=4096)
        self.reload()
        self.assertEqual(self.post_upload(base, 2000), 401)
        self.env.stop_daemon()

    @unittest.skipUnless(imap_server.available(), "needs dovecot-imapd and openssl")
    def test_the_mailbox_thread_goes_on_after_a_reload(self):
        imap = imap_server.ImapServer(self.env.root)
        self.addCleanup(imap.stop)
        password = os.path.join(self.env.root, "imap-password")
        with open(password, "w") as f:
            f.write(imap_server.PASSWORD + "\n")
        os.chmod(password, 0o600)
        mailbox = [
            "",
            "[mailbox]",
            f"url = {toml_str(imap.url)}",
            f"username = {toml_str(imap_server.USER)}",
            f"password_file = {toml_str(password)}",
            f"ca_file = {toml_str(imap.cert)}",
            "poll_interval_s = 1",
            f"from = {toml_str(MAILBOX)}",
            "",
            "[[mailbox.sender]]",
            f"address = {toml_str(BINJAI)}",
        ]
        self.write_config(console_limit=4096, mailbox_lines=mailbox)
        self.env.start_daemon()
        self.reload()
        self.reload()
        imap.append(mail(BINJAI, attachments=[csv_attachment(
            "binjai.csv", b"store,item,count\nBinjai,Robusta Dairi,3\n")]).as_bytes())
        self.env.wait_for(lambda: self.env.inventory() == {("Binjai", "Robusta Dairi"): 3},
                          "the mailed report loaded", timeout=30)
        self.env.stop_daemon()


if __name__ == "__main__":
    unittest.main()

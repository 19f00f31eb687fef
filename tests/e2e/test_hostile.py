"""End to end: what a hostile (or unlucky) user of the inbox and of the S3
endpoint tried, and what stockwatch must do instead: never read or write
outside the inbox, never load a copy cut short by a full disk, never let a
file name forge a log line, always answer well-formed XML without the
server's paths, and name every file so that the name still finds it.

The races and the full disks run on the real daemon; the tmpfs tests need
root (as the other full-disk tests) and are skipped otherwise."""

import os
import subprocess
import time
import xml.etree.ElementTree as ET

import harness
from harness import fill_up, mount_tmpfs
from test_http import HttpEnv, MEDAN, BUCKET
import test_inbox
from test_inbox import report_text, write


def name_from_printable(text):
    """The bytes of a name as the ledger shows it (docs/inbox.md): "\\\\" is
    a backslash, "\\xNN" the byte NN."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        if raw[i:i + 2] == b"\\\\":
            out += b"\\"
            i += 2
        elif raw[i:i + 2] == b"\\x" and len(raw) >= i + 4:
            try:
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
            except ValueError:
                out.append(raw[i])
                i += 1
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


class HostileInboxTest(harness.PipelineTestCase):

    serving = test_inbox.InboxDeliveryTest.serving

    def test_copy_cut_by_a_full_disk_is_not_loaded(self):
        # The inbox on a 2 MiB tmpfs; `cp` of a larger report fails with
        # ENOSPC in the middle of a line, and closes the file.
        env = self.make_env()
        mount_tmpfs(self, env.inbox, "2m")
        env.start_smtp()
        env.write_config()
        env.start_daemon()
        lines = ["store,item,count"] + [f"Gudang,Item {i:06d},1234" for i in range(100000)]
        text = "\n".join(lines) + "\n"
        source = os.path.join(env.root, "big.csv")
        write(source, text)
        cp = subprocess.run(["cp", source, os.path.join(env.inbox, "cut.csv")],
                            capture_output=True, text=True)
        self.assertNotEqual(cp.returncode, 0, "the copy must fail on the full disk")
        self.assertIn("No space left on device", cp.stderr)
        with open(os.path.join(env.inbox, "cut.csv"), "rb") as f:
            cut = f.read()
        self.assertNotEqual(cut[-1:], b"\n", "the test needs a cut in the middle of a line")

        rows = env.wait_archived(1, "the cut report handled")
        self.assertEqual(rows[0][2], "rejected")
        error = env.query("SELECT error FROM reports")[0][0]
        self.assertIn("cut short", error)
        self.assertEqual(env.inventory(), {}, "nothing of a cut report is loaded")
        self.assertIn("cut.csv: rejected: the report's last line has no line end and the disk",
                      env.daemon.log())
        env.stop_daemon()

    def test_a_file_name_cannot_forge_a_log_line(self):
        env = self.serving()
        name = "a\n2026-12-06 09:00:00.000 info  stockwatch stopped\nb.csv"
        write(os.path.join(env.inbox, name), report_text("Forge", 3))
        env.wait_archived(1, "the report archived")
        log = env.daemon.log()
        self.assertNotIn("\n2026-12-06 09:00:00.000 info  stockwatch stopped\n", log)
        self.assertIn("a\\n2026-12-06 09:00:00.000 info  stockwatch stopped\\nb.csv: loaded 3 rows",
                      log)
        # The ledger keeps a name that still names the file.
        path = env.reports()[0][1]
        self.assertEqual(name_from_printable(path), name.encode())
        env.stop_daemon()

    def test_a_rejected_symlink_error_file_ends_with_a_line_end(self):
        env = self.serving()
        outside = os.path.join(env.root, "secret.csv")
        write(outside, "SECRET_TOKEN=abc123-do-not-leak\n")
        os.symlink(outside, os.path.join(env.inbox, "x.csv"))
        env.wait_archived(1, "the link rejected")
        with open(os.path.join(env.failed, "x.csv.error.txt"), encoding="utf-8") as f:
            error = f.read()
        self.assertTrue(error.endswith("\n"), repr(error))
        self.assertIn("outside the inbox", error)
        self.assertNotIn("SECRET", error)
        self.assertTrue(os.path.islink(os.path.join(env.failed, "x.csv")))
        env.stop_daemon()


    def test_a_folder_swapped_for_a_link_out_of_the_inbox_touches_nothing_outside(self):
        # A report linked into inbox/evil/; within the settle time the folder
        # is renamed away and replaced by a link to a folder outside the
        # inbox holding a file of the same name.
        env = self.serving(settle_ms=3000)
        outside = os.path.join(env.root, "outside")
        os.makedirs(outside)
        secret = os.path.join(outside, "x.csv")
        write(secret, "SECRET=abc\n")
        staging = test_inbox.InboxDeliveryTest.staging(self, env)
        report = os.path.join(staging, "x.csv")
        write(report, report_text("Evil", 2))
        os.makedirs(os.path.join(env.inbox, "evil"))
        os.link(report, os.path.join(env.inbox, "evil", "x.csv"))
        os.rename(os.path.join(env.inbox, "evil"), os.path.join(env.inbox, "evil.real"))
        os.symlink(outside, os.path.join(env.inbox, "evil"))

        # The real report, now evil.real/x.csv, is loaded and archived.
        def real_archived():
            return any(r[1] == "evil.real/x.csv" and r[3] for r in env.reports())
        harness.wait_for(real_archived, "the report in the renamed folder archived")
        harness.wait_for(lambda: not os.path.exists(os.path.join(env.inbox, "evil.real", "x.csv")),
                         "the report removed from the inbox")
        # Past another settle time for the path through the link.
        time.sleep(4)

        with open(secret, encoding="utf-8") as f:
            self.assertEqual(f.read(), "SECRET=abc\n", "the outside file is untouched")
        self.assertEqual(os.listdir(outside), ["x.csv"])
        for folder in (env.failed, env.processed):
            for dirpath, _, names in os.walk(folder):
                for name in names:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        self.assertNotIn(b"SECRET", f.read(), os.path.join(dirpath, name))
        self.assertEqual([r[1] for r in env.reports()], ["evil.real/x.csv"])
        for row in env.query("SELECT path, status, coalesce(error, '') FROM reports"):
            self.assertNotIn("SECRET", " ".join(map(str, row)))
        self.assertEqual(env.reports()[0][2], "loaded")
        env.stop_daemon()


class HostileHttpTest(harness.PipelineTestCase):

    def test_uploads_never_follow_a_symlinked_folder(self):
        h = HttpEnv(self)
        outside = os.path.join(h.env.root, "outside")
        os.makedirs(outside)
        os.symlink(outside, os.path.join(h.env.inbox, "evil"))
        for _ in range(2):  # the second answer is the same, not 503 SlowDown
            for key in ("evil/pwn.csv", "evil/newdir/deeper/p2.csv"):
                status, _, body = h.signed_put(key, MEDAN)
                self.assertEqual(status, 400, body)
                self.assertIn(b"<Code>InvalidArgument</Code>", body)
                self.assertIn(b"symbolic link", body)
        self.assertEqual(os.listdir(outside), [])
        self.assertEqual(h.staging_files(), [])

    def test_error_bodies_are_well_formed_and_show_no_server_path(self):
        h = HttpEnv(self)
        # Upper-case escapes, as Signature Version 4 writes them.
        for key in ("a%00b.csv", "a%FFb.csv", "a%0D%0Ab.csv", "a%C2%85b.csv"):
            status, _, body = h.signed_put(key, MEDAN)
            self.assertEqual(status, 400, key)
            root = ET.fromstring(body)  # raises on a body that is not well-formed
            self.assertEqual(root.find("Code").text, "InvalidArgument", key)
            self.assertTrue(root.find("Resource").text.startswith(f"/{BUCKET}/a"), key)
        # A name longer than the filesystem allows: the client's mistake.
        status, _, body = h.signed_put("y" * 300 + ".csv", MEDAN)
        self.assertEqual(status, 400, body)
        self.assertEqual(ET.fromstring(body).find("Code").text, "KeyTooLongError")
        self.assertNotIn(h.env.root.encode(), body)
        h.assert_nothing_left()

    def test_a_full_disk_is_a_503_without_server_paths(self):
        h = HttpEnv(self)
        staging = os.path.join(h.env.inbox, ".uploads")
        mount_tmpfs(self, staging, "64k")
        fill_up(self, staging)
        big = os.path.join(h.env.root, "big.csv")
        write(big, report_text("Full", 20000))
        status, _, body = h.signed_put("full.csv", big)
        self.assertEqual(status, 503, body)
        ET.fromstring(body)
        self.assertNotIn(b"/", ET.fromstring(body).find("Message").text.encode())
        self.assertNotIn(h.env.root.encode(), body)

    def test_names_that_are_not_utf8_still_name_their_files(self):
        h = HttpEnv(self)
        env = h.env
        name = b"bad\xff\xfename.csv"
        with open(os.path.join(env.inbox.encode(), name), "wb") as f:
            f.write(b"store,item,count\nBad,Item,1.000\n")  # rejected
        env.wait_archived(1, "the report archived")
        path, archived = env.query("SELECT path, archived_path FROM reports")[0]
        self.assertEqual(path, "bad\\xff\\xfename.csv")
        self.assertEqual(name_from_printable(archived), os.path.join(env.failed.encode(), name))
        self.assertTrue(os.path.exists(name_from_printable(archived)))
        status, reports = h.get_json("/api/reports")
        self.assertEqual(status, 200)
        items = reports["items"]
        self.assertEqual(items[0]["path"], path)
        self.assertEqual(items[0]["archived_path"], archived)

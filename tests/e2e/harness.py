"""Shared harness for stockwatch's end-to-end tests.

Each test gets its own world: a temporary directory holding the inbox, the
processed/ and failed/ archives, the maildir, the database and a config file
(absolute paths only); a real SMTP server (tests/support/smtp_server.py, run
as a subprocess on a free loopback port); and a `stockwatch serve` daemon
whose log is kept in a file and printed when the test fails.

Env.run_unprivileged() makes the daemon run as nobody (uid and gid 65534),
as the shipped systemd unit runs it as its own user with no capabilities,
while the test itself (root in CI) plays the other users who deliver files.

Environment:
    STOCKWATCH_BINARY      the stockwatch executable under test
    STOCKWATCH_SOURCE_DIR  the repository root (samples/, tests/support/)
"""

import contextlib
import datetime
import email
import email.message
import email.policy
import json
import errno
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

try:
    # A page that reloads between finding an element and reading it leaves a
    # stale reference; a poll treats that as "not yet", like a missing file.
    # Chromium's driver may instead report an element of the page being
    # replaced as a node that "does not belong to the document", as a plain
    # WebDriverException; that message is the same "not yet".
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException,
                                            WebDriverException)
    _PAGE_NOT_READY = (NoSuchElementException, StaleElementReferenceException)
    _BROWSER_ERROR = WebDriverException
except ImportError:
    _PAGE_NOT_READY = ()
    _BROWSER_ERROR = ()

_NODE_GONE = "does not belong to the document"

SOURCE_DIR = os.environ.get(
    "STOCKWATCH_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BINARY = os.environ.get("STOCKWATCH_BINARY", os.path.join(SOURCE_DIR, "build", "stockwatch"))
# The build folder: the binary's folder (CPackConfig.cmake, cmake_install.cmake).
BUILD_DIR = os.path.dirname(os.path.abspath(BINARY))
SAMPLES = os.path.join(SOURCE_DIR, "samples")
SMTP_SERVER_SCRIPT = os.path.join(SOURCE_DIR, "tests", "support", "smtp_server.py")
# aiosmtpd is installed for Debian's interpreter.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# The user and group an unprivileged daemon runs as (nobody, nogroup).
UNPRIVILEGED_ID = 65534

SENDER = "stockwatch@example.com"
RECIPIENT = "owner@example.com"
SUBJECT = "Inventory Alert!"

DEFAULT_TIMEOUT = 15.0
POLL_INTERVAL = 0.05

# Set by `make test-asan` and `make test-tsan` ("address" or "thread").
SANITIZER = os.environ.get("STOCKWATCH_SANITIZER", "")
# A sanitizer build runs several times slower (ThreadSanitizer 5 to 15
# times: a 20 MB report takes over a minute to load): every deadline a test
# waits for is stretched by this factor, so that a slow build gets the time
# it needs rather than a skipped test. A deadline only bounds a wait; no test
# asserts that something is fast.
DEADLINE_SCALE = {"thread": 10.0, "address": 3.0}.get(SANITIZER, 1.0)
# The lines with which the sanitizers begin a report. The daemon may print
# one at any moment, also while it stops after the test's last check, so the
# daemon's log is searched at the end of every test.
SANITIZER_REPORT_MARKERS = ("WARNING: ThreadSanitizer:", "ERROR: AddressSanitizer:",
                            "ERROR: LeakSanitizer:", "runtime error:")


def sanitizer_report(text):
    """The first line of a sanitizer report in `text`, or None."""
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_REPORT_MARKERS):
            return line
    return None


def sample(name):
    return os.path.join(SAMPLES, name)


def wait_for(predicate, what, timeout=DEFAULT_TIMEOUT, interval=POLL_INTERVAL):
    """Polls `predicate` until it returns a true value, which is returned.

    Raises AssertionError naming `what` after `timeout` seconds. A predicate
    that raises sqlite3.OperationalError or FileNotFoundError (a database or
    file not created yet), or a browser page that is still being replaced
    (a stale, detached or not yet present element), counts as "not yet".
    """
    timeout *= DEADLINE_SCALE
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (sqlite3.OperationalError, FileNotFoundError) + _PAGE_NOT_READY as e:
            last_error = e
        except _BROWSER_ERROR as e:
            if _NODE_GONE not in str(e):
                raise
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)


def holds_for(predicate, seconds=1.0, interval=POLL_INTERVAL):
    """True when `predicate` stays true for the whole of `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(interval)
    return bool(predicate())


def reserve_port():
    """A bound, non-listening loopback socket: connecting to its port is
    refused, and no other process can take the port while it is held."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


def _set_environment(values):
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@contextlib.contextmanager
def environment(**values):
    """Sets (or, with None, removes) environment variables for processes
    started inside the block."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        _set_environment(values)
        yield
    finally:
        _set_environment(saved)


def operator_docs():
    """The documents every installation carries: docs/*.md."""
    return sorted(f for f in os.listdir(os.path.join(SOURCE_DIR, "docs")) if f.endswith(".md"))


def build_deb(test, out):
    """Builds the Debian package with cpack into the folder `out` and
    returns its path; skips `test` when the build is not configured or a
    packaging tool is missing."""
    config = os.path.join(BUILD_DIR, "CPackConfig.cmake")
    if not os.path.exists(config):
        test.skipTest(f"no {config}: configure the build with CMake first")
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
        if not shutil.which(tool):
            test.skipTest(f"{tool} is not installed (scripts/install-deps.sh test)")
    r = subprocess.run(["cpack", "-G", "DEB", "--config", config, "-B", out],
                       capture_output=True, text=True, timeout=300)
    test.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    test.assertEqual(len(debs), 1, os.listdir(out))
    return os.path.join(out, debs[0])


class AlertMessage(email.message.EmailMessage):
    """An email as its reader sees it: get_content() of a
    multipart/alternative message is its plain-text part, the text alerts
    have always had (the HTML part: get_body(("html",)))."""

    def get_content(self, *args, **kwargs):
        if self.get_content_type() == "multipart/alternative":
            return self.get_body(("plain",)).get_content(*args, **kwargs)
        return super().get_content(*args, **kwargs)


_ALERT_POLICY = email.policy.default.clone(message_factory=AlertMessage)


def parse_message(eml):
    return email.message_from_bytes(eml, policy=_ALERT_POLICY)


def latest_daily(hour, utc_offset_hours):
    """The latest time of a daily schedule at `hour`:00 (at or before now) in
    a fixed-offset zone, and the one before it: (latest, before)."""
    zone = datetime.timezone(datetime.timedelta(hours=utc_offset_hours))
    local = datetime.datetime.now(zone)
    latest = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if latest > local:
        latest -= datetime.timedelta(days=1)
    return latest, latest - datetime.timedelta(days=1)


def toml_str(value):
    # A TOML basic string; JSON's escaping is a subset TOML accepts.
    return json.dumps(str(value))


class SmtpServer:
    """tests/support/smtp_server.py running as a subprocess."""

    def __init__(self, workdir, port=0, fail_451=0, reject=(), hold_file=None,
                 hold_after_accept=False):
        self.outdir = os.path.join(workdir, "received")
        os.makedirs(self.outdir, exist_ok=True)
        self.log_path = os.path.join(workdir, "smtp-server.log")
        ready = os.path.join(workdir, "smtp-ready")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready)
        args = [PYTHON, SMTP_SERVER_SCRIPT, "--port", str(port), "--outdir", self.outdir,
                "--ready-file", ready]
        if fail_451:
            args += ["--fail-451", str(fail_451)]
        for r in reject:
            args += ["--reject", r]
        if hold_file:
            args += ["--hold-file", hold_file]
        if hold_after_accept:
            args += ["--hold-after-accept"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        def started():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the SMTP test server exited with {self.proc.returncode}:\n{self.log()}")
            with open(ready, encoding="ascii") as f:
                return f.read().strip()

        self.port = int(wait_for(started, "the SMTP test server to start"))

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def messages(self):
        """Every accepted message: [(eml bytes, sidecar dict), ...]."""
        out = []
        n = 1
        while os.path.exists(os.path.join(self.outdir, f"{n}.eml")):
            with open(os.path.join(self.outdir, f"{n}.eml"), "rb") as f:
                eml = f.read()
            with open(os.path.join(self.outdir, f"{n}.json"), encoding="utf-8") as f:
                sidecar = json.load(f)
            out.append((eml, sidecar))
            n += 1
        return out

    def held(self):
        """Message-IDs whose DATA reply was held back (--hold-file), in order."""
        return [line.split(" ", 1)[1] for line in self.log().splitlines()
                if line.startswith("holding <")]

    def count(self):
        n = 0
        while os.path.exists(os.path.join(self.outdir, f"{n + 1}.eml")):
            n += 1
        return n

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Daemon:
    """`stockwatch serve --config F`, its stdout and stderr in a log file."""

    def __init__(self, config_path, cwd, log_path, args=(), wrapper=(), binary=BINARY):
        self.log_path = log_path
        self.log_offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen([*wrapper, binary, "serve", "--config", config_path, *args],
                                         cwd=cwd, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)

        def started():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"stockwatch serve exited with {self.proc.returncode}:\n{self.log()}")
            return "stockwatch started" in self.log(since_start=True)

        wait_for(started, "stockwatch serve to start")

    def log(self, since_start=False):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                if since_start:
                    f.seek(self.log_offset)
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self, timeout=DEFAULT_TIMEOUT):
        """SIGTERM, then the exit status (SIGKILL after `timeout`: None)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * DEADLINE_SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


class Env:
    """One test's world: directories, config, SMTP server, daemon."""

    def __init__(self, test):
        self.test = test
        self.root = tempfile.mkdtemp(prefix="stockwatch-e2e-")
        test.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.inbox = os.path.join(self.root, "inbox")
        self.processed = os.path.join(self.root, "processed")
        self.failed = os.path.join(self.root, "failed")
        self.maildir = os.path.join(self.root, "mail")
        for d in (self.inbox, self.processed, self.failed, self.maildir):
            os.makedirs(d)
        self.db = os.path.join(self.root, "stockwatch.db")
        self.config = os.path.join(self.root, "stockwatch.toml")
        self.daemon_log = os.path.join(self.root, "stockwatch.log")
        self.smtp = None
        self.daemon = None
        self._servers = []
        self._binary = BINARY
        self._prefix = ()
        # Runs before the directory is removed (cleanups are LIFO).
        test.addCleanup(self._cleanup)

    # --- configuration ---------------------------------------------------------

    def config_text(self, smtp_url, extra_smtp=(), extra_inbox=(), settle_ms=200, storage=None):
        """`storage`: the lines of [storage] (default: the SQLite file)."""
        lines = [
            "[storage]",
            *(storage if storage is not None else [f"database = {toml_str(self.db)}"]),
            "",
            "[inbox]",
            f"path = {toml_str(self.inbox)}",
            f"processed = {toml_str(self.processed)}",
            f"failed = {toml_str(self.failed)}",
            f"settle_ms = {settle_ms}",
            *extra_inbox,
            "",
            "[alerts]",
            f"from = {toml_str(SENDER)}",
            f"subject = {toml_str(SUBJECT)}",
            "",
            "[[alerts.subscription]]",
            f"email = {toml_str(RECIPIENT)}",
            "",
            "[smtp]",
            f"url = {toml_str(smtp_url)}",
            f"maildir = {toml_str(self.maildir)}",
            'starttls = "off"',
            "connect_timeout_s = 5",
            "timeout_s = 10",
            "retry_initial_s = 1",
            "retry_max_s = 2",
            *extra_smtp,
            "",
        ]
        return "\n".join(lines)

    def write_config(self, smtp_url=None, **kwargs):
        if smtp_url is None:
            smtp_url = f"smtp://127.0.0.1:{self.smtp.port}" if self.smtp else ""
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(self.config_text(smtp_url, **kwargs))
        return self.config

    # --- processes ------------------------------------------------------------

    def start_smtp(self, port=0, **kwargs):
        self.smtp = SmtpServer(self.root, port=port, **kwargs)
        self._servers.append(self.smtp)
        return self.smtp

    def start_daemon(self, *args, wrapper=()):
        """Starts `stockwatch serve` with extra command-line `args`, run
        through the command `wrapper` (such as strace) if given, and as
        another user after run_unprivileged()."""
        self.daemon = Daemon(self.config, self.root, self.daemon_log, args,
                             (*wrapper, *self._prefix), self._binary)
        return self.daemon

    def run_unprivileged(self):
        """Makes start_daemon() run the daemon as nobody:nogroup, with no
        supplementary groups and no capabilities, like the systemd unit's
        own user. The test's world is handed to that user (the binary is
        copied in, so the build tree need not be reachable); files the test
        writes afterwards stay root's, as a manager's upload would be another
        user's. Skips the test where it cannot be done."""
        if os.geteuid() != 0:
            self.test.skipTest("needs root to start the daemon as another user")
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            self.test.skipTest("needs setpriv (util-linux) to start the daemon as another user")
        self._binary = os.path.join(self.root, "stockwatch")
        shutil.copy2(BINARY, self._binary)
        os.chmod(self._binary, 0o755)
        os.chmod(self.root, 0o755)
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, UNPRIVILEGED_ID, UNPRIVILEGED_ID)
        self._prefix = (setpriv, f"--reuid={UNPRIVILEGED_ID}", f"--regid={UNPRIVILEGED_ID}",
                        "--clear-groups", "--inh-caps=-all", "--bounding-set=-all")

    def stop_daemon(self):
        """SIGTERM the daemon and assert that it exits with status 0."""
        status = self.daemon.stop()
        self.test.assertEqual(status, 0, "stockwatch serve did not exit cleanly on SIGTERM")

    def run_cli(self, *args, timeout=60):
        r = subprocess.run([BINARY, *args], cwd=self.root, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        report = sanitizer_report(r.stderr)
        if report:
            raise AssertionError(f"stockwatch {args[0]} printed a sanitizer report: {report}\n"
                                 f"{r.stderr}")
        return r

    def logs(self):
        parts = []
        if os.path.exists(self.daemon_log):
            with open(self.daemon_log, encoding="utf-8", errors="replace") as f:
                parts.append("--- stockwatch log ---\n" + f.read())
        for s in self._servers:
            parts.append(f"--- SMTP server log (port {s.port}) ---\n" + s.log())
        return "\n".join(parts)

    def _cleanup(self):
        if self.daemon is not None and self.daemon.proc.poll() is None:
            self.daemon.stop()
        for s in self._servers:
            s.stop()
        self.test._saved_logs = self.logs()
        if os.path.exists(self.daemon_log):
            with open(self.daemon_log, encoding="utf-8", errors="replace") as f:
                report = sanitizer_report(f.read())
            if report:
                raise AssertionError(f"the daemon's log has a sanitizer report: {report}")

    # --- the inbox ------------------------------------------------------------

    def drop(self, source, name=None):
        """Copies a report into the inbox, as a user's file transfer would."""
        dest = os.path.join(self.inbox, name or os.path.basename(source))
        shutil.copyfile(source, dest)
        return dest

    def drop_text(self, name, text):
        dest = os.path.join(self.inbox, name)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
        return dest

    def inbox_files(self):
        # Hidden names (such as the HTTP upload staging folder) are never reports.
        return sorted(n for n in os.listdir(self.inbox) if not n.startswith("."))

    # --- the database ---------------------------------------------------------

    def query(self, sql, params=()):
        uri = "file:" + self.db + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            return conn.execute(sql, params).fetchall()

    def inventory(self):
        return {(s, i): c for s, i, c in self.query("SELECT store, item, count FROM inventory")}

    def reports(self):
        """The ledger: [(id, path, status, archived_path), ...] by id."""
        return self.query("SELECT id, path, status, archived_path FROM reports ORDER BY id")

    def outbox(self):
        rows = self.query("SELECT id, event, state, attempts, last_error, recipient, subject "
                          "FROM outbox ORDER BY id")
        keys = ("id", "event", "state", "attempts", "last_error", "recipient", "subject")
        return [dict(zip(keys, r)) for r in rows]

    # --- waiting ----------------------------------------------------------------

    def wait_for(self, predicate, what, timeout=DEFAULT_TIMEOUT):
        return wait_for(predicate, what, timeout)

    def wait_messages(self, n, timeout=DEFAULT_TIMEOUT):
        """Waits for the SMTP server to have accepted at least n messages."""
        wait_for(lambda: self.smtp.count() >= n, f"{n} message(s) at the SMTP server", timeout)
        return self.smtp.messages()

    def assert_message_count_stays(self, n, seconds=1.0):
        self.test.assertTrue(holds_for(lambda: self.smtp.count() == n, seconds),
                             f"expected exactly {n} message(s), got {self.smtp.count()}")

    def wait_archived(self, count, what="reports archived", timeout=DEFAULT_TIMEOUT):
        """Waits until the ledger holds `count` reports, each archived, and
        the inbox is empty."""
        def done():
            rows = self.reports()
            return (len(rows) == count and all(r[3] for r in rows)
                    and not self.inbox_files())
        wait_for(done, what, timeout)
        return self.reports()


def mount_tmpfs(test, path, size):
    """Mounts a tmpfs of `size` ("256k", "2m") on `path` for the test, or
    skips the test where that is not allowed (not root, no mount rights)."""
    if os.geteuid() != 0:
        test.skipTest("mounting a small filesystem needs root")
    os.makedirs(path, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        test.skipTest(f"mounting a tmpfs is not permitted here: {mount.stderr.strip()}")
    test.addCleanup(subprocess.run, ["umount", "-l", path], check=False)


def fill_up(test, folder):
    """Fills the filesystem of `folder` with a file `filler` until ENOSPC;
    returns the filler's path."""
    filler = os.path.join(folder, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        test.assertEqual(e.errno, errno.ENOSPC)
    finally:
        os.close(fd)
    return filler


class PipelineTestCase(unittest.TestCase):
    """Prints the daemon's and the SMTP server's logs when a test fails."""

    def make_env(self):
        return Env(self)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        self._saved_logs = ""
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self._saved_logs:
            sys.stderr.write(f"\n===== logs of {self.id()} =====\n{self._saved_logs}\n")
            sys.stderr.flush()
        return out

"""End to end: stockwatch as a service. The systemd notification protocol
(READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1) on a datagram socket
the test owns, SIGHUP reloads, SIGTERM during a large report, `stockwatch
backup` beside a running daemon, the systemd unit and the Debian package."""

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import RECIPIENT, parse_message, sample

NEW_RECIPIENT = "buyer@example.com"
BIG_ROWS = 300_000
UNIT_FILE = os.path.join(harness.SOURCE_DIR, "packaging", "stockwatch.service")
OPERATIONS_DOC = os.path.join(harness.SOURCE_DIR, "docs", "operations.md")
DOCKERFILE = os.path.join(harness.SOURCE_DIR, "docker", "Dockerfile")
COMPOSE = os.path.join(harness.SOURCE_DIR, "docker", "compose.yaml")


def documented_exposure():
    """The `systemd-analyze security` score docs/operations.md records."""
    with open(OPERATIONS_DOC, encoding="utf-8") as f:
        m = re.search(r"exposure at ([0-9.]+)", f.read().replace("\n", " "))
    if not m:
        raise AssertionError("docs/operations.md records no exposure score ('exposure at N')")
    return float(m.group(1))


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET;
    every datagram received is kept, in order, as a list of lines."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.datagrams = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.datagrams.append(data.decode("utf-8", "replace").split("\n"))

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def all(self):
        with self._lock:
            return [list(d) for d in self.datagrams]

    def index(self, line, start=0):
        """The index of the first datagram at or after `start` holding
        `line` (an exact line, or a compiled pattern), or None."""
        for i, d in enumerate(self.all()[start:], start):
            for l in d:
                if (l == line) if isinstance(line, str) else line.search(l):
                    return i
        return None

    def wait(self, line, start=0, timeout=harness.DEFAULT_TIMEOUT):
        """Waits for index(line, start) and returns it."""
        what = line if isinstance(line, str) else line.pattern

        def found():
            i = self.index(line, start)
            return None if i is None else i + 1   # 0 is a valid index

        return harness.wait_for(found, f"{what!r} on the notify socket", timeout) - 1

    def statuses(self):
        return [l[len("STATUS="):] for d in self.all() for l in d if l.startswith("STATUS=")]


def write_big_report(path, rows=BIG_ROWS):
    """A valid report of `rows` rows, every count above 0 (no alerts)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("store,item,count\n")
        f.writelines(f"Gudang {i % 40},Barang nomor {i},{i % 97 + 1}\n" for i in range(rows))


class ServiceTestCase(harness.PipelineTestCase):

    def serving(self, notify=True, watchdog_usec=None):
        env = self.make_env()
        env.start_smtp()
        env.write_config()
        self.notify = None
        values = {"NOTIFY_SOCKET": None, "WATCHDOG_USEC": None, "WATCHDOG_PID": None}
        if notify:
            self.notify = NotifySocket(env.root)
            self.addCleanup(self.notify.close)
            values["NOTIFY_SOCKET"] = self.notify.path
        if watchdog_usec:
            values["WATCHDOG_USEC"] = str(watchdog_usec)
        with harness.environment(**values):
            env.start_daemon()
        return env

    def big_report(self, env):
        """Writes the large report outside the inbox; returns its path."""
        path = os.path.join(env.root, "big.csv")
        write_big_report(path)
        return path


class NotifyTest(ServiceTestCase):

    def test_ready_status_watchdog_stopping_in_order(self):
        env = self.serving(watchdog_usec=200_000)
        n = self.notify
        ready = n.wait("READY=1")
        # READY=1 carries the first STATUS= line, in the same datagram.
        self.assertEqual(n.index(re.compile(r"^STATUS=")), ready)
        self.assertRegex(n.all()[ready][1], r"^STATUS=\d+ reports? today, outbox: 0 queued, 0 dead$")
        first_watchdog = n.wait("WATCHDOG=1")
        self.assertGreater(first_watchdog, ready)

        env.drop(sample("inventory-medan.csv"))
        env.wait_messages(1)
        n.wait(re.compile(r"^STATUS=loading inventory-medan\.csv; "))
        n.wait(re.compile(r"^STATUS=1 report today, outbox: 0 queued, 0 dead$"))
        # Pings keep coming at half of WATCHDOG_USEC (100 ms).
        before = sum(d.count("WATCHDOG=1") for d in n.all())
        time.sleep(0.6)
        after = sum(d.count("WATCHDOG=1") for d in n.all())
        self.assertGreaterEqual(after - before, 3, "WATCHDOG=1 every 100 ms")

        env.stop_daemon()
        stopping = n.wait("STOPPING=1", timeout=2)
        self.assertEqual(stopping, len(n.all()) - 1, f"STOPPING=1 is the last message: {n.all()}")
        self.assertLess(first_watchdog, stopping)
        self.assertIsNone(n.index("READY=1", ready + 1))

    def test_no_watchdog_pings_without_watchdog_usec(self):
        env = self.serving()
        self.notify.wait("READY=1")
        time.sleep(0.3)
        self.assertIsNone(self.notify.index("WATCHDOG=1"))
        env.stop_daemon()
        self.notify.wait("STOPPING=1", timeout=2)


class ReloadTest(ServiceTestCase):

    def test_sighup_with_a_new_subscription_then_with_a_broken_config(self):
        env = self.serving()
        n = self.notify
        n.wait("READY=1")
        env.drop(sample("inventory-medan.csv"))
        msgs = env.wait_messages(1)
        self.assertEqual(msgs[0][1]["rcpt_tos"], [RECIPIENT])

        # 1. A new subscriber instead of the owner.
        text = env.config_text(f"smtp://127.0.0.1:{env.smtp.port}")
        with open(env.config, "w", encoding="utf-8") as f:
            f.write(text.replace(harness.toml_str(RECIPIENT), harness.toml_str(NEW_RECIPIENT)))
        mark = len(n.all())
        env.daemon.proc.send_signal(signal.SIGHUP)
        reloading = n.wait("RELOADING=1", start=mark)
        self.assertTrue(any(l.startswith("MONOTONIC_USEC=") for l in n.all()[reloading]))
        n.wait("READY=1", start=reloading + 1)
        env.wait_for(lambda: "SIGHUP: configuration reloaded" in env.daemon.log(), "the reload")

        env.drop(sample("inventory-makassar.csv"))
        msgs = env.wait_messages(2)
        self.assertEqual(msgs[1][1]["rcpt_tos"], [NEW_RECIPIENT])
        self.assertIn("Makassar is out of stock of Arabika Kalosi",
                      parse_message(msgs[1][0]).get_content())

        # 2. A broken file: refused, the running configuration stays.
        with open(env.config, "w", encoding="utf-8") as f:
            f.write("[smtp\nurl = 42\n")
        mark = len(n.all())
        env.daemon.proc.send_signal(signal.SIGHUP)
        reloading = n.wait("RELOADING=1", start=mark)
        n.wait("READY=1", start=reloading + 1)
        env.wait_for(lambda: "keeping the running configuration" in env.daemon.log(),
                     "the refused reload to be logged")
        self.assertRegex(env.daemon.log(),
                         r"error +SIGHUP: .* keeping the running configuration")
        self.assertIsNone(env.daemon.proc.poll(), "the daemon still runs")

        env.drop_text("jakarta.csv", "store,item,count\nJakarta,Kopi Toraja,0\n")
        msgs = env.wait_messages(3)
        self.assertEqual(msgs[2][1]["rcpt_tos"], [NEW_RECIPIENT])
        self.assertIn("Jakarta is out of stock of Kopi Toraja",
                      parse_message(msgs[2][0]).get_content())
        env.stop_daemon()


    def test_sighup_gives_new_report_settings_to_the_loader_and_names_what_needs_a_restart(self):
        env = self.serving()
        n = self.notify
        n.wait("READY=1")
        # Before: "cabang" is no store column, so such a report is rejected.
        env.drop_text("before.csv", "cabang,item,count\nJakarta,Kopi Toraja,5\n")
        env.wait_for(lambda: os.path.exists(os.path.join(env.failed, "before.csv")),
                     "the report with an unknown column to be rejected")

        text = env.config_text(f"smtp://127.0.0.1:{env.smtp.port}", settle_ms=300)
        text += '\n[report]\nstore_columns = ["store", "cabang"]\n'
        with open(env.config, "w", encoding="utf-8") as f:
            f.write(text)
        mark = len(n.all())
        env.daemon.proc.send_signal(signal.SIGHUP)
        reloading = n.wait("RELOADING=1", start=mark)
        n.wait("READY=1", start=reloading + 1)
        env.wait_for(lambda: "SIGHUP: configuration reloaded" in env.daemon.log(), "the reload")
        self.assertRegex(env.daemon.log(),
                         r"warning +SIGHUP: inbox\.settle_ms changes only at a restart")

        env.drop_text("after.csv", "cabang,item,count\nJakarta,Kopi Toraja,0\n")
        msgs = env.wait_messages(2)   # the rejection, then the alert
        self.assertIn("Jakarta is out of stock of Kopi Toraja",
                      parse_message(msgs[-1][0]).get_content())
        self.assertTrue(os.path.exists(os.path.join(env.processed, "after.csv")))
        env.stop_daemon()


class FaultTest(ServiceTestCase):

    def rename_table(self, env, old, new):
        with contextlib.closing(sqlite3.connect(env.db, timeout=5)) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
            conn.commit()

    def test_a_step_that_fails_is_logged_and_the_daemon_goes_on(self):
        """The checker's table disappears while the daemon runs: the step
        after a report fails on a worker strand; the daemon logs it and keeps
        running, and once the database is whole again the report's alert
        goes out (the cursor did not move, so nothing is lost)."""
        env = self.serving()
        self.notify.wait("READY=1")
        self.rename_table(env, "cursors", "cursors_away")
        env.drop(sample("inventory-medan.csv"))
        env.wait_for(lambda: re.search(r"(error|critical) .*cursors", env.daemon.log()),
                     "the failure to be logged")
        self.assertIsNone(env.daemon.proc.poll(), "the daemon still runs")
        self.assertEqual(env.smtp.messages(), [], "nothing sent while the checker fails")

        self.rename_table(env, "cursors_away", "cursors")
        env.drop(sample("inventory-makassar.csv"))
        msgs = env.wait_messages(1)
        self.assertIn("Medan", "".join(parse_message(m[0]).get_content() for m in msgs))
        env.stop_daemon()

class LargeReportTest(ServiceTestCase):

    def test_sigterm_while_a_large_report_loads(self):
        env = self.serving()
        big = self.big_report(env)
        env.drop(big, "big.csv")
        self.notify.wait("STATUS=loading big.csv; 0 reports today, outbox: 0 queued, 0 dead",
                         timeout=30)
        env.daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(env.daemon.proc.wait(30), 0, "exit status after SIGTERM")

        rows = env.query("SELECT COUNT(*) FROM inventory")[0][0]
        ledger = env.query("SELECT status, rows FROM reports")
        sys.stderr.write(f"[SIGTERM during the load: {'finished' if ledger else 'rolled back'}] ")
        if ledger:
            # It finished before the signal was seen: all of it, archived.
            self.assertEqual(ledger, [("loaded", BIG_ROWS)])
            self.assertEqual(rows, BIG_ROWS)
        else:
            # Rolled back: nothing of it, and the file waits in the inbox.
            self.assertEqual(rows, 0, "a partial inventory")
            self.assertEqual(env.query("SELECT COUNT(*) FROM changes")[0][0], 0)
            self.assertEqual(env.inbox_files(), ["big.csv"])
            self.assertIn("loading stopped by shutdown", env.daemon.log())
            # The next start loads all of it.
            env.start_daemon()
            env.wait_for(lambda: env.query("SELECT status, rows FROM reports")
                         == [("loaded", BIG_ROWS)], "the report to load after a restart",
                         timeout=60)
            self.assertEqual(env.query("SELECT COUNT(*) FROM inventory")[0][0], BIG_ROWS)
            env.stop_daemon()

    def test_backup_while_a_large_report_loads(self):
        env = self.serving()
        env.drop(sample("inventory-medan.csv"))
        env.wait_archived(1)
        env.drop(self.big_report(env), "big.csv")
        self.notify.wait(re.compile(r"^STATUS=loading big\.csv; "), timeout=30)

        dest = os.path.join(env.root, "backup", "stockwatch-copy.db")
        os.makedirs(os.path.dirname(dest))
        r = env.run_cli("backup", "--config", env.config, dest)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.match(rf"^wrote {re.escape(dest)}: a copy of .*, schema version (\d+), "
                     r"\d+ reports, \d+ inventory rows\n$", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual(os.listdir(os.path.dirname(dest)), ["stockwatch-copy.db"])
        with contextlib.closing(sqlite3.connect(f"file:{dest}?mode=ro", uri=True)) as copy:
            self.assertEqual(copy.execute("PRAGMA user_version").fetchone()[0], int(m.group(1)))
            self.assertEqual(copy.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            inventory = copy.execute("SELECT COUNT(*) FROM inventory").fetchone()[0]
            ledger = copy.execute("SELECT path, status FROM reports ORDER BY id").fetchall()
        sys.stderr.write(f"[backup: {inventory} inventory rows] ")
        # Either before or after the big report's transaction, never inside it.
        self.assertIn((ledger, inventory), [
            ([("inventory-medan.csv", "loaded")], 6),
            ([("inventory-medan.csv", "loaded"), ("big.csv", "loaded")], 6 + BIG_ROWS)])

        again = env.run_cli("backup", "--config", env.config, dest)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already exists", again.stderr)

        env.wait_archived(2, "the large report to finish loading", timeout=60)
        self.assertEqual(env.query("SELECT COUNT(*) FROM inventory")[0][0], 6 + BIG_ROWS)
        env.stop_daemon()


class UnitFileTest(unittest.TestCase):

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        with tempfile.TemporaryDirectory(prefix="stockwatch-unit-") as tmp:
            # verify checks that ExecStart= names an executable: point it at
            # the binary under test; every other line is verified as shipped.
            with open(UNIT_FILE, encoding="utf-8") as f:
                text = f.read().replace("/usr/bin/stockwatch", os.path.abspath(harness.BINARY))
            unit = os.path.join(tmp, "stockwatch.service")
            with open(unit, "w", encoding="utf-8") as f:
                f.write(text)
            r = subprocess.run([analyze, "verify", "--man=no", unit],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(r.stderr.strip(), "", r.stderr)

            # The exposure score that docs/operations.md quotes: a score
            # that cannot be read, or one above the documented value, fails.
            r = subprocess.run([analyze, "security", "--offline=true", "--no-pager", unit],
                               capture_output=True, text=True, timeout=60)
            score = re.search(r"Overall exposure level for stockwatch\.service: ([0-9.]+)",
                              r.stdout)
            self.assertIsNotNone(score, f"no exposure score from systemd-analyze security "
                                        f"(exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr}")
            documented = documented_exposure()
            self.assertLessEqual(float(score.group(1)), documented,
                                 f"docs/operations.md records {documented}:\n{r.stdout}")
            sys.stderr.write(f"[exposure {score.group(1)}, documented {documented}] ")
            # Every setting the check still counts against the unit is
            # explained in docs/operations.md.
            with open(OPERATIONS_DOC, encoding="utf-8") as f:
                doc = f.read().replace("\\|", "|")   # a | escaped in a table
            counted = [m.group(1) for m in
                       re.finditer(r"(?m)^\S+ +(\S+=\S*) .* ([0-9]+\.[0-9]+)$", r.stdout)
                       if float(m.group(2)) > 0]
            self.assertTrue(counted or float(score.group(1)) == 0, r.stdout)
            for check in counted:
                self.assertIn(f"`{check}`", doc, f"docs/operations.md gives no reason for {check}")

    def test_unit_settings(self):
        with open(UNIT_FILE, encoding="utf-8") as f:
            lines = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        for want in ("Type=notify", "WatchdogSec=30",
                     "ExecStart=/usr/bin/stockwatch serve --config /etc/stockwatch/stockwatch.toml",
                     "ExecReload=/bin/kill -HUP $MAINPID", "User=stockwatch",
                     "StateDirectory=stockwatch", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "CapabilityBoundingSet=", "UMask=0027",
                     "PrivateUsers=yes", "ProcSubset=pid",
                     "SystemCallFilter=~@privileged @resources",
                     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"):
            self.assertIn(want, lines)


def syscalls_of(analyze, group):
    """The system calls in a systemd system call group, nested groups
    expanded (`systemd-analyze syscall-filter`)."""
    out = subprocess.run([analyze, "syscall-filter", group], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    names = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if word.startswith("@"):
            names |= syscalls_of(analyze, word)
        elif word and not word.startswith("#"):
            names.add(word)
    return names


def unit_syscall_filter(analyze):
    """The system calls the unit's SystemCallFilter= lines allow: the first
    (an allow list) minus every later ~ (deny) line."""
    with open(UNIT_FILE, encoding="utf-8") as f:
        lines = [l.strip()[len("SystemCallFilter="):] for l in f
                 if l.startswith("SystemCallFilter=")]
    allowed = set().union(*(syscalls_of(analyze, g) for g in lines[0].split()))
    for deny in lines[1:]:
        assert deny.startswith("~"), deny
        allowed -= set().union(*(syscalls_of(analyze, g) for g in deny[1:].split()))
    return allowed


class SyscallFilterTest(ServiceTestCase):
    """No systemd runs the unit here, so its SystemCallFilter= is checked
    against what the daemon really calls: under strace, through start-up
    with sd_notify and the watchdog, a report loaded and mailed over SMTP, a
    rejected report, a reload and a stop."""

    def test_the_daemon_makes_only_system_calls_the_unit_allows(self):
        if os.environ.get("STOCKWATCH_SANITIZER"):
            self.skipTest("a sanitizer build makes system calls of its own, and "
                          "LeakSanitizer cannot run under strace")
        analyze, strace = shutil.which("systemd-analyze"), shutil.which("strace")
        if not analyze or not strace:
            self.skipTest("needs systemd-analyze and strace (scripts/install-deps.sh test)")
        if subprocess.run([strace, "-f", "-o", "/dev/null", "true"],
                          capture_output=True).returncode != 0:
            self.skipTest("strace cannot trace here (no ptrace)")
        allowed = unit_syscall_filter(analyze)

        env = self.make_env()
        env.start_smtp()
        env.write_config()
        self.notify = NotifySocket(env.root)
        self.addCleanup(self.notify.close)
        summary = os.path.join(env.root, "syscalls.txt")
        wrapper = [strace, "-f", "-c", "-U", "name", "-o", summary]
        if os.geteuid() == 0:
            # As the unit does (User=): SQLite, for one, calls fchown() on
            # its journal files only when it runs as root.
            wrapper += ["-u", "nobody"]
            for d, _, files in os.walk(env.root):
                for p in [d, *(os.path.join(d, f) for f in files)]:
                    os.chown(p, 65534, 65534)
        with harness.environment(NOTIFY_SOCKET=self.notify.path, WATCHDOG_USEC="200000"):
            env.start_daemon(wrapper=wrapper)
        tracer = env.daemon.proc
        with open(f"/proc/{tracer.pid}/task/{tracer.pid}/children", encoding="ascii") as f:
            daemon_pid = int(f.read().split()[0])

        self.notify.wait("READY=1")
        self.notify.wait("WATCHDOG=1")
        env.drop(sample("inventory-medan.csv"))
        env.wait_messages(1)
        env.drop_text("broken.csv", "store,item\nMedan,Kopi\n")
        env.wait_archived(2)
        mark = len(self.notify.all())
        os.kill(daemon_pid, signal.SIGHUP)
        self.notify.wait("READY=1", start=mark)
        os.kill(daemon_pid, signal.SIGTERM)
        self.assertEqual(tracer.wait(60), 0, env.daemon.log())

        with open(summary, encoding="utf-8") as f:
            # One name a line, between a "syscall" header and a "total".
            used = {line.strip() for line in f
                    if re.match(r"^[a-z_][a-z0-9_]*$", line.strip())} - {"syscall", "total"}
        self.assertIn("inotify_add_watch", used, "the trace covers the daemon")
        self.assertIn("connect", used)
        self.assertEqual(sorted(used - allowed), [],
                         "system calls the unit's SystemCallFilter= refuses (EPERM)")


class DockerfileTest(unittest.TestCase):
    """No Docker engine runs the image here (docs/operations.md): these
    checks keep the Dockerfile's steps those the tests run."""

    def stages(self):
        with open(DOCKERFILE, encoding="utf-8") as f:
            text = f.read().replace("\\\n", " ")
        stages = {}
        name = None
        for line in text.splitlines():
            m = re.match(r"^FROM \S+ AS (\w+)", line)
            if m:
                name = m.group(1)
                stages[name] = []
            elif name and line.strip() and not line.startswith("#"):
                stages[name].append(line.strip())
        return stages

    def test_the_image_is_built_and_installed_by_the_tested_scripts(self):
        stages = self.stages()
        self.assertEqual(list(stages), ["build", "runtime"])
        build = "\n".join(stages["build"])
        self.assertIn("RUN scripts/install-deps.sh package", build)
        self.assertIn("cpack -G DEB", build)
        runtime = "\n".join(stages["runtime"])
        # The package, its dependencies, user and folders come from
        # scripts/install-package.sh (tests/e2e/test_deb_install.py runs it).
        self.assertRegex(runtime, r"(?m)^RUN sh /tmp/install-package\.sh /tmp/stockwatch_\*\.deb")
        for by_hand in ("apt-get", "useradd", "groupadd", "adduser", "install -d", "chmod", "chown"):
            self.assertNotIn(by_hand, runtime)
        self.assertIn('VOLUME ["/var/lib/stockwatch", "/var/lib/stockwatch/inbox"]', runtime)
        self.assertIn("USER stockwatch", runtime)
        self.assertIn('ENTRYPOINT ["/usr/bin/stockwatch"]', runtime)
        self.assertIn('CMD ["serve", "--config", "/etc/stockwatch/stockwatch.toml"]', runtime)
        # The health check asks the daemon's /healthz (tests/e2e/test_http.py
        # runs the same command).
        self.assertIn('CMD ["/usr/bin/stockwatch", "healthcheck", "--config", '
                      '"/etc/stockwatch/stockwatch.toml"]', runtime)

    def test_every_copied_file_exists(self):
        for stage in self.stages().values():
            for line in stage:
                m = re.match(r"^COPY (?!--from)(.*) \S+$", line)
                for src in (m.group(1).split() if m else []):
                    self.assertTrue(os.path.exists(os.path.join(harness.SOURCE_DIR, src)), src)

    def test_compose_has_a_volume_for_state_and_one_for_the_inbox(self):
        with open(COMPOSE, encoding="utf-8") as f:
            compose = f.read()
        self.assertIn("- stockwatch-state:/var/lib/stockwatch\n", compose)
        self.assertIn("- stockwatch-inbox:/var/lib/stockwatch/inbox\n", compose)


class PackageTest(unittest.TestCase):

    def test_debian_package(self):
        with tempfile.TemporaryDirectory(prefix="stockwatch-deb-") as out:
            deb = harness.build_deb(self, out)

            contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                                      check=True).stdout
            paths = {line.split()[-1].lstrip(".") for line in contents.splitlines()}
            for want in ("/usr/bin/stockwatch", "/usr/lib/systemd/system/stockwatch.service",
                         "/usr/share/stockwatch/stockwatch.toml",
                         "/usr/share/doc/stockwatch/stockwatch.toml.example",
                         "/usr/share/doc/stockwatch/README.md",
                         *(f"/usr/share/doc/stockwatch/{d}" for d in harness.operator_docs())):
                self.assertIn(want, paths)
            # The configuration is made by postinst, never shipped over an edited one.
            self.assertFalse([p for p in paths if p.startswith("/etc/")], paths)

            info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, text=True,
                                  check=True).stdout
            depends = re.search(r"^ Depends: (.*)$", info, re.M)
            self.assertIsNotNone(depends, info)
            for lib in ("libsqlite3-0", "libcurl4", "libspdlog1.10", "libsystemd0", "libxlsxwriter4",
                        "adduser"):
                self.assertRegex(depends.group(1), rf"(^|[ ,]){re.escape(lib)}\b")
            self.assertRegex(info, r"(?m)^ Recommends: ca-certificates$")
            for script in ("postinst", "postrm"):
                self.assertIn(f" {script} ", info)

            control = os.path.join(out, "control")
            subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
            with open(os.path.join(control, "postinst"), encoding="utf-8") as f:
                postinst = f.read()
            for want in ("adduser --system", "2775", "/var/lib/stockwatch",
                         "/etc/stockwatch/stockwatch.toml"):
                self.assertIn(want, postinst)
            for script in ("postinst", "prerm", "postrm"):
                subprocess.run(["sh", "-n", os.path.join(control, script)], check=True)

            # The packaged unit runs the packaged binary, and the template
            # that becomes /etc/stockwatch/stockwatch.toml is valid.
            data = os.path.join(out, "data")
            subprocess.run(["dpkg-deb", "-x", deb, data], check=True)
            with open(os.path.join(data, "usr/lib/systemd/system/stockwatch.service"),
                      encoding="utf-8") as f:
                self.assertIn("ExecStart=/usr/bin/stockwatch serve --config "
                              "/etc/stockwatch/stockwatch.toml\n", f.read())
            r = subprocess.run([os.path.join(data, "usr/bin/stockwatch"), "check-config", "--config",
                                os.path.join(data, "usr/share/stockwatch/stockwatch.toml")],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()

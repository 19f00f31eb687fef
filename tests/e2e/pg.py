"""A real PostgreSQL 15 for the end-to-end tests, started unprivileged.

PgServer() makes a temporary folder, runs Debian's initdb and pg_ctl from
/usr/lib/postgresql/15/bin (never anything on PATH) as `nobody` when the
tests run as root (initdb refuses root) or as the caller otherwise, and
listens only on a Unix socket in that folder (listen_addresses = '').
fresh_database() creates an empty database and returns its name; url(name)
is the libpq connection string [storage] url takes. stop() (also on
leaving a `with` block, and at interpreter exit) stops the server with
`pg_ctl stop -m immediate` and removes the folder; stop_server() and
start_server() stop and start it keeping its data (the fault tests).

    with PgServer() as pg:
        url = pg.url(pg.fresh_database())
"""

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile

PG_BIN = "/usr/lib/postgresql/15/bin"
SUPERUSER = "stockwatch"
PORT = 5432  # only the socket file's name: nothing listens on TCP
UNPRIVILEGED_ID = 65534  # nobody, nogroup


def _demote():
    os.setgroups([])
    os.setgid(UNPRIVILEGED_ID)
    os.setuid(UNPRIVILEGED_ID)


class PgServer:
    _names = itertools.count(1)

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="stockwatch-pg-")
        self._root = os.geteuid() == 0
        if self._root:
            os.chown(self.dir, UNPRIVILEGED_ID, UNPRIVILEGED_ID)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self._running = False
        try:
            self._run([f"{PG_BIN}/initdb", "-D", self.data, "-U", SUPERUSER, "-A", "trust",
                       "-E", "UTF8", "--locale=C", "--no-sync"])
            with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
                conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.dir}'\n"
                           f"port = {PORT}\nfsync = off\nsynchronous_commit = off\n")
            self._run([f"{PG_BIN}/pg_ctl", "start", "-w", "-t", "60", "-D", self.data,
                       "-l", self.log])
            self._running = True
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)

    def _run(self, argv, demote=True):
        result = subprocess.run(argv, capture_output=True, text=True,
                                preexec_fn=_demote if (demote and self._root) else None)
        if result.returncode != 0:
            log = ""
            if os.path.exists(self.log):
                with open(self.log) as f:
                    log = f.read()
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}\nserver log:\n{log}")
        return result.stdout

    def url(self, db):
        return f"postgresql://{SUPERUSER}@/{db}?host={self.dir}&port={PORT}"

    def psql(self, db, sql):
        """Runs `sql` in database `db`; returns psql's unaligned output."""
        return self._run([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-d", self.url(db), "-c", sql], demote=False)

    def fresh_database(self):
        name = f"e2e_{os.getpid()}_{next(self._names)}"
        self._run([f"{PG_BIN}/createdb", "-h", self.dir, "-p", str(PORT), "-U", SUPERUSER,
                   name], demote=False)
        return name

    def stop_server(self, mode="fast"):
        """Stops the server but keeps its data (start_server() brings it back)."""
        if self._running:
            self._run([f"{PG_BIN}/pg_ctl", "stop", "-w", "-m", mode, "-D", self.data])
            self._running = False

    def start_server(self):
        if not self._running:
            self._run([f"{PG_BIN}/pg_ctl", "start", "-w", "-t", "60", "-D", self.data,
                       "-l", self.log])
            self._running = True

    def stop(self):
        if self._running:
            self._running = False
            subprocess.run([f"{PG_BIN}/pg_ctl", "stop", "-m", "immediate", "-D", self.data],
                           capture_output=True, preexec_fn=_demote if self._root else None)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _pipeline_case():
    import harness  # the e2e harness; imported late so that pg.py stays usable alone
    return harness.PipelineTestCase


class PgTestCase(_pipeline_case()):
    """An end-to-end test case with one PostgreSQL server for the whole class
    (each test takes a fresh database from it)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg = PgServer()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        super().tearDownClass()

    def sql(self, db, query):
        return self.pg.psql(db, query).strip()

"""A real IMAP server for tests: Dovecot (dovecot-imapd from Debian) run
unprivileged in a temporary folder on a free loopback port, with its own
self-signed certificate made by openssl, one user and a Maildir.

    server = ImapServer(workdir)          # started
    server.append(message_bytes)          # imaplib APPEND, over TLS
    server.flags()                        # {uid: set of flags}
    server.stop()

The daemon under test reaches it as imaps://127.0.0.1:<port>/INBOX with
ca_file = server.cert.
"""

import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import time

DOVECOT = "/usr/sbin/dovecot"
USER = "stok"
PASSWORD = "rahasia-gudang"
# The user Dovecot runs as when the test runs as root (Dovecot refuses to
# serve mail as root).
UNPRIVILEGED_ID = 65534


def available():
    return os.path.exists(DOVECOT) and shutil.which("openssl") is not None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ImapServer:

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "dovecot")
        os.makedirs(self.dir)
        self.port = _free_port()
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
             "-out", self.cert, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        root = os.geteuid() == 0
        user = "nobody" if root else os.environ.get("USER", "")
        group = "nogroup" if root else ""
        uid = f"uid={UNPRIVILEGED_ID} gid={UNPRIVILEGED_ID}" if root else \
            f"uid={os.getuid()} gid={os.getgid()}"
        d = self.dir
        conf = f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.key}
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = {uid} home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""
        if user:
            conf += f"default_internal_user = {user}\ndefault_login_user = {user}\n"
        if group:
            conf += f"default_internal_group = {group}\n"
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        prefix = []
        if root:
            for dirpath, dirnames, filenames in os.walk(d):
                for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                    os.chown(name, UNPRIVILEGED_ID, UNPRIVILEGED_ID)
            os.chmod(d, 0o755)
            # Dovecot, as nobody, must reach its folder.
            os.chmod(workdir, os.stat(workdir).st_mode | 0o111)
            prefix = ["setpriv", f"--reuid={UNPRIVILEGED_ID}", f"--regid={UNPRIVILEGED_ID}",
                      "--clear-groups"]
        # Dovecot's master forks into the background and keeps what it was
        # given as output: a file, not a pipe this process would wait on.
        with open(os.path.join(d, "start.log"), "w+") as out:
            r = subprocess.run([*prefix, DOVECOT, "-c", self.conf], stdout=out, stderr=out,
                               stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                out.seek(0)
                raise RuntimeError(f"dovecot did not start: {out.read()}\n{self.log()}")
        self._prefix = prefix
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("dovecot did not start:\n" + self.log())
                time.sleep(0.05)

    @property
    def url(self):
        return f"imaps://127.0.0.1:{self.port}/INBOX"

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def connect(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        m = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=ctx, timeout=30)
        m.login(USER, PASSWORD)
        return m

    def append(self, message):
        if not isinstance(message, bytes):
            message = bytes(message)
        m = self.connect()
        try:
            typ, data = m.append("INBOX", None, None, message)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data}")
        finally:
            m.logout()

    def flags(self):
        """{uid: set of flags} of every mail in INBOX."""
        m = self.connect()
        try:
            m.select("INBOX")
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else item[0].decode()
                if "UID" not in text:
                    continue
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (")[1].split(")")[0].split()
                out[uid] = set(flags)
            return out
        finally:
            m.logout()

    def stop(self):
        subprocess.run([*self._prefix, "/usr/bin/doveadm", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

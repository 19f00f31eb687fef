#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) for stockwatch's tests.

Command line:

    /usr/bin/python3 smtp_server.py --port 0 --outdir DIR
        [--fail-451 N] [--reject RCPT ...]
        [--auth USER:PASSWORD [--auth-mechanisms LOGIN,PLAIN]]
        [--tls-cert PEM --tls-key PEM [--implicit-tls | --no-starttls]]
        [--hold-file FILE [--hold-after-accept]] [--ready-file FILE]

It listens on 127.0.0.1 (port 0 = a free port), then prints the port on
stdout and, with --ready-file, writes it to FILE (atomically, so a reader
never sees a partial number). Each accepted message is saved as DIR/<n>.eml
(the bytes received, dot-unstuffed) next to DIR/<n>.json:
{"mail_from": ..., "rcpt_tos": [...], "peer": [host, port], "helo": ...,
 "auth": user or null, "auth_mechanism": "PLAIN", "LOGIN" or null}, numbered from 1; the .json is written first, so a
reader that sees the .eml finds its sidecar too.

--fail-451 N   answers "451 4.3.0 Try again later" to the first N messages
               (after DATA, when the message has been sent).
--reject RCPT  answers "550 5.1.1 No such user" to RCPT TO:<RCPT>
               (repeatable, case-insensitive).
--auth U:P     offers AUTH PLAIN/LOGIN (also without TLS) and accepts only
               U/P; other credentials get "535 5.7.8 Authentication
               credentials invalid".
--auth-mechanisms M[,M]
               offers only these AUTH mechanisms (PLAIN, LOGIN), so a test
               can make the client use the one it names.
--hold-file F  while the file F exists, holds every reply to DATA (the
               message has arrived; the client waits for the verdict) and
               prints "holding <Message-ID>" once per held message. A message
               whose client gave up meanwhile is not recorded.
--hold-after-accept
               with --hold-file: records the message first, then holds the
               reply; a message whose client gave up meanwhile stays
               recorded (a server that took the message, but whose "250"
               the client never saw).
--tls-cert PEM, --tls-key PEM
               the server's certificate (chain) and key. Alone they offer
               STARTTLS and require it: every command but EHLO, HELO,
               NOOP, QUIT and STARTTLS gets "530 Must issue a STARTTLS
               command first" until TLS is up.
--implicit-tls TLS from the first byte (smtps://, port 465 style) with that
               certificate; no STARTTLS.
--no-starttls  never offers STARTTLS, even with a certificate.

Every DATA, accepted or not, appends one line to DIR/attempts.jsonl:
{"message_id": ..., "rcpt_tos": [...], "reply": "250 ..." or "451 ..."},
so a test can check that a retried message kept its Message-ID. The same
line goes to stdout.

SIGTERM or SIGINT stop it. Python tests can import it instead:

    from smtp_server import SmtpTestServer
    with SmtpTestServer(outdir, fail_451=1, reject=["nobody@example.com"]) as server:
        ... server.port ...
        server.messages()  # [(eml_bytes, sidecar_dict), ...]
        server.attempts()  # [{"message_id": ..., "rcpt_tos": [...], "reply": ...}, ...]
"""

import argparse
import asyncio
import email.parser
import email.policy
import json
import os
import signal
import socket
import ssl
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


# aiosmtpd itself still sets the deprecated Session.login_data after AUTH.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")


class _NoDelaySMTP(SMTP):
    def connection_made(self, transport):
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


def _write_atomically(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _message_id(envelope):
    content = envelope.original_content or envelope.content or b""
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogateescape")
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(content)
    return headers.get("Message-ID")


class _Handler:
    def __init__(self, outdir, fail_451, reject, hold_file=None, hold_after_accept=False):
        self.outdir = outdir
        self.fail_remaining = fail_451
        self.reject = {r.lower() for r in reject}
        self.hold_file = hold_file
        self.hold_after_accept = hold_after_accept
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _log_attempt(self, envelope, reply):
        line = json.dumps({"message_id": _message_id(envelope),
                           "rcpt_tos": list(envelope.rcpt_tos), "reply": reply})
        with open(os.path.join(self.outdir, "attempts.jsonl"), "a", encoding="utf-8") as f:
            f.write(line + "\n")
        print(line, flush=True)

    async def _hold(self, server, envelope):
        """Waits while the hold file exists; False when the client has gone."""
        if not self.hold_file or not os.path.exists(self.hold_file):
            return True
        print(f"holding {_message_id(envelope)}", flush=True)
        while os.path.exists(self.hold_file):
            await asyncio.sleep(0.05)
        transport = server.transport
        return transport is not None and not transport.is_closing()

    async def handle_DATA(self, server, session, envelope):
        if not self.hold_after_accept and not await self._hold(server, envelope):
            print(f"client gone while held: {_message_id(envelope)} not recorded", flush=True)
            return "451 4.3.0 The client went away"
        with self.lock:
            if self.fail_remaining > 0:
                self.fail_remaining -= 1
                reply = "451 4.3.0 Try again later"
                self._log_attempt(envelope, reply)
                return reply
            self.count += 1
            n = self.count
            self._log_attempt(envelope, f"250 2.0.0 OK: queued as {n}")
        auth = session.auth_data
        if isinstance(auth, LoginPassword):
            auth = auth.login.decode("utf-8", "replace")
        elif auth is not None:
            auth = str(auth)
        sidecar = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": list(session.peer) if isinstance(session.peer, tuple) else session.peer,
            "helo": session.host_name,
            "auth": auth,
            "auth_mechanism": getattr(session, "auth_mechanism", None),
        }
        content = envelope.original_content
        if content is None:
            content = envelope.content if isinstance(envelope.content, bytes) else b""
        _write_atomically(os.path.join(self.outdir, f"{n}.json"),
                          json.dumps(sidecar).encode("utf-8"))
        _write_atomically(os.path.join(self.outdir, f"{n}.eml"), content)
        if self.hold_after_accept:
            await self._hold(server, envelope)  # recorded, whether the client waits or not
        return f"250 2.0.0 OK: queued as {n}"


class _Authenticator:
    def __init__(self, user, password):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user and auth_data.password == self.password)
        if ok:
            session.auth_mechanism = mechanism
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpTestServer:
    """The server running on its own event loop in a background thread."""

    MECHANISMS = ("PLAIN", "LOGIN")

    def __init__(self, outdir, port=0, fail_451=0, reject=(), auth=None, host="127.0.0.1",
                 tls_cert=None, tls_key=None, implicit_tls=False, no_starttls=False,
                 auth_mechanisms=None, hold_file=None, hold_after_accept=False):
        os.makedirs(outdir, exist_ok=True)
        self.outdir = outdir
        self.host = host
        self.tls_context = None
        if tls_cert:
            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(tls_cert, tls_key)
        elif implicit_tls:
            raise ValueError("--implicit-tls needs --tls-cert and --tls-key")
        self.implicit_tls = implicit_tls
        self.starttls = self.tls_context is not None and not implicit_tls and not no_starttls
        self.handler = _Handler(outdir, fail_451, reject, hold_file, hold_after_accept)
        self.authenticator = _Authenticator(*auth.split(":", 1)) if auth else None
        offered = [m.upper() for m in (auth_mechanisms or self.MECHANISMS)]
        unknown = set(offered) - set(self.MECHANISMS)
        if unknown or not offered:
            raise ValueError(f"AUTH mechanisms are {', '.join(self.MECHANISMS)}, got {offered}")
        self.auth_excluded = [m for m in self.MECHANISMS if m not in offered]
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._loop = None
        self._server = None
        self._thread = None
        self._ready = threading.Event()
        self._error = None

    def _factory(self):
        kwargs = {"hostname": "smtp.test", "ident": "stockwatch test SMTP"}
        # aiosmtpd writes each line of a multi-line reply (EHLO) separately;
        # without TCP_NODELAY, Nagle's algorithm holds the later lines until
        # the client's delayed ACK, about 40 ms per EHLO. Real MTAs do not
        # stall like that, so the test server must not either.
        if self.authenticator is not None:
            kwargs.update(authenticator=self.authenticator, auth_require_tls=False,
                          auth_exclude_mechanism=self.auth_excluded)
        if self.starttls:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        return _NoDelaySMTP(self.handler, loop=self._loop, **kwargs)

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                self._loop.create_server(
                    self._factory, sock=self._sock,
                    ssl=self.tls_context if self.implicit_tls else None))
        except BaseException as e:  # reported by start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    def start(self):
        self._thread = threading.Thread(target=self._run, name="smtp-test-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("the SMTP test server did not start")
        return self.port

    def stop(self):
        if self._thread is None:
            self._sock.close()  # never started
            return
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def messages(self):
        """Every accepted message so far: [(eml bytes, sidecar dict), ...]."""
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

    def attempts(self):
        """Every DATA so far, accepted or not, in order (see attempts.jsonl)."""
        try:
            with open(os.path.join(self.outdir, "attempts.jsonl"), encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--fail-451", type=int, default=0, dest="fail_451")
    parser.add_argument("--reject", action="append", default=[], metavar="RCPT")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--auth-mechanisms", metavar="M[,M]")
    parser.add_argument("--hold-file", metavar="FILE")
    parser.add_argument("--hold-after-accept", action="store_true")
    parser.add_argument("--tls-cert", metavar="PEM")
    parser.add_argument("--tls-key", metavar="PEM")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--no-starttls", action="store_true")
    parser.add_argument("--ready-file")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and not args.tls_cert:
        parser.error("--implicit-tls needs --tls-cert and --tls-key")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = SmtpTestServer(args.outdir, port=args.port, fail_451=args.fail_451,
                            reject=args.reject, auth=args.auth, tls_cert=args.tls_cert,
                            tls_key=args.tls_key, implicit_tls=args.implicit_tls,
                            no_starttls=args.no_starttls, hold_file=args.hold_file,
                            hold_after_accept=args.hold_after_accept,
                            auth_mechanisms=(args.auth_mechanisms.split(",")
                                             if args.auth_mechanisms else None))
    port = server.start()
    print(port, flush=True)
    if args.ready_file:
        _write_atomically(args.ready_file, f"{port}\n".encode("ascii"))
    while not stop.wait(0.2):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

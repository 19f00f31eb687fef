"""End to end: the HTTP server of the real daemon, driven by real clients.

Uploads go through Debian's aws CLI (/usr/bin/aws, installed by
scripts/install-deps.sh test) and curl (--aws-sigv4); the operations routes
and the JSON API through curl; malformed and hostile requests through raw
sockets. Alerts go to the Maildir (smtp.url empty): mail delivery is covered
by the other end-to-end tests."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest
import zlib

import harness
from harness import sample, toml_str

AWS = "/usr/bin/aws"
BUCKET = "inventory"
ADMIN = ("AKIDADMIN", "admin-secret-key")
MEDAN_ONLY = ("AKIDMEDAN", "medan-secret-key")
TOKEN = "s3cr3t-token"
MEDAN = sample("inventory-medan.csv")
MAKASSAR = sample("inventory-makassar.csv")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sign_v4(method, path, key, when, payload_hash="UNSIGNED-PAYLOAD", host="127.0.0.1",
            region="us-east-1", query=""):
    """Headers of an AWS Signature Version 4 request, made independently of
    the server's code (Python's hmac and hashlib), so a test can sign with a
    wrong clock or for any path."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    date = amz_date[:8]
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    names = sorted(headers)
    canonical = "\n".join([method, path, query,
                           "".join(f"{n}:{headers[n]}\n" for n in names), ";".join(names),
                           payload_hash])
    scope = f"{date}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + key[1]).encode()
    for part in (date, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key[0]}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


def read_until_closed(sock):
    """What `sock` receives until the peer closes it: (data, closed); closed
    is False when the socket's timeout ran out first."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False


def generate_report(path, target_bytes, seed=7):
    """A valid report of about `target_bytes`, a few counts at 0."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("store,item,count\n")
        written, n = 0, 0
        while written < target_bytes:
            line = f"Gudang-{n % 7},Produk-{n:08d},{0 if n % 997 == 0 else rng.randint(1, 9999)}\n"
            f.write(line)
            written += len(line)
            n += 1
    return n


class HttpEnv:
    """A daemon with an HTTP server on an ephemeral loopback port."""

    def __init__(self, test, http_lines=None, credentials=(ADMIN, MEDAN_ONLY + (["Medan"],)),
                 **config):
        self.test = test
        self.env = test.make_env()
        self.env.write_config(**config)
        lines = http_lines if http_lines is not None else [
            'listen = "127.0.0.1:0"',
            f"token = {toml_str(TOKEN)}",
            "read_timeout_s = 2",
        ]
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write("\n[http]\n" + "\n".join(lines) + "\n")
            for cred in credentials:
                f.write(f"\n[[http.credential]]\naccess_key = {toml_str(cred[0])}\n"
                        f"secret_key = {toml_str(cred[1])}\n")
                if len(cred) > 2:
                    f.write(f"stores = {json.dumps(cred[2])}\n")
        self.env.start_daemon()
        m = re.search(r"http: listening on \S+ \(port (\d+)\)", self.env.daemon.log())
        test.assertIsNotNone(m, self.env.daemon.log())
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        self.home = os.path.join(self.env.root, "home")
        os.makedirs(self.home)

    # --- clients -----------------------------------------------------------------

    def aws(self, *args, key=ADMIN, timeout=120):
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.home,
            "AWS_ACCESS_KEY_ID": key[0],
            "AWS_SECRET_ACCESS_KEY": key[1],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.path.join(self.home, "none"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
            # A refused upload is not worth the CLI's retries here.
            "AWS_MAX_ATTEMPTS": "1",
        }
        return subprocess.run([AWS, *args, "--endpoint-url", self.base], env=env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def curl(self, *args, timeout=60):
        """curl; returns (status, headers text, body bytes)."""
        headers = os.path.join(self.env.root, "curl-headers")
        p = subprocess.run(["curl", "-sS", "-o", "-", "-D", headers, *args],
                           capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        self.test.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        with open(headers, encoding="latin-1") as f:
            head = f.read()
        # After a "100 Continue" the final status comes last.
        status = int(re.findall(r"^HTTP/1\.1 (\d+)", head, re.M)[-1])
        return status, head, p.stdout

    def signed(self, method, path, *args, key=ADMIN, when=None, query="", host=None):
        """curl with headers signed by sign_v4()."""
        headers = sign_v4(method, path, key, time.time() if when is None else when,
                          host=host or f"127.0.0.1:{self.port}", query=query)
        hargs = []
        for name, value in headers.items():
            if name != "host":
                hargs += ["-H", f"{name}: {value}"]
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        return self.curl("-X", method, *hargs, *args, url)

    def get(self, path, token=TOKEN):
        args = [f"{self.base}{path}"]
        if token:
            args = ["-H", f"Authorization: Bearer {token}", *args]
        return self.curl(*args)

    def get_json(self, path, token=TOKEN):
        status, _, body = self.get(path, token)
        return status, json.loads(body)

    def signed_put(self, key_name, path, key=ADMIN, headers=()):
        args = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{key[0]}:{key[1]}",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]
        for h in headers:
            args += ["-H", h]
        return self.curl(*args, "-T", path, f"{self.base}/{BUCKET}/{key_name}")

    def raw(self, data, read=True, timeout=5.0):
        """Sends raw bytes; returns what the server answered before closing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            if not read:
                return b""
            return read_until_closed(s)[0]

    # --- state -------------------------------------------------------------------

    def files_under(self, top):
        out = []
        for root, _, files in os.walk(top):
            out += [os.path.relpath(os.path.join(root, f), self.env.inbox) for f in files]
        return sorted(out)

    def staging_files(self):
        return self.files_under(os.path.join(self.env.inbox, ".uploads"))

    def assert_nothing_left(self):
        """No file in the inbox (folders made for keys may stay), none in staging."""
        self.test.assertEqual(self.files_under(self.env.inbox), [])

    def wait_loaded(self, path):
        # The ledger says "loaded" at the commit, a moment before the report
        # is archived: wait for both, as the tests look in processed/ next.
        def loaded():
            rows = self.env.query("SELECT status, archived_path FROM reports WHERE path = ?",
                                  (path,))
            return rows and rows[0][0] == "loaded" and rows[0][1]
        self.env.wait_for(loaded, f"{path} to be loaded and archived", timeout=60)


class HttpTest(harness.PipelineTestCase):

    def serving(self, **kwargs):
        return HttpEnv(self, **kwargs)

    # --- uploads with the aws CLI -----------------------------------------------------

    def test_aws_cli_small_and_multipart_uploads(self):
        h = self.serving()
        r = h.aws("s3", "cp", MEDAN, f"s3://{BUCKET}/medan/2026-11.csv", "--no-progress")
        self.assertEqual(r.returncode, 0, r.stderr)
        h.wait_loaded("medan/2026-11.csv")
        self.assertEqual(h.env.query(
            "SELECT count FROM inventory WHERE store='Medan' AND item='Robusta Dairi'"), [(0,)])
        self.assertTrue(os.path.exists(os.path.join(h.env.processed, "medan", "2026-11.csv")))

        # 20 MB: the CLI switches to a multipart upload above 8 MB.
        big = os.path.join(h.env.root, "big.csv")
        rows = generate_report(big, 20 * 1024 * 1024)
        r = h.aws("s3", "cp", big, f"s3://{BUCKET}/all/2026-11.csv", "--no-progress")
        self.assertEqual(r.returncode, 0, r.stderr)
        h.wait_loaded("all/2026-11.csv")
        self.assertEqual(h.env.query("SELECT rows FROM reports WHERE path='all/2026-11.csv'"),
                         [(rows,)])
        log = h.env.daemon.log()
        self.assertIn("multipart upload of all/2026-11.csv started", log)
        self.assertRegex(log, r"received all/2026-11\.csv \(\d+ bytes in 3 parts\)")
        archived = os.path.join(h.env.processed, "all", "2026-11.csv")
        self.assertEqual(hashlib.sha256(read(archived)).digest(), hashlib.sha256(read(big)).digest())
        h.assert_nothing_left()

    def test_aws_cli_wrong_secret_is_refused(self):
        h = self.serving()
        r = h.aws("s3", "cp", MEDAN, f"s3://{BUCKET}/x.csv", key=(ADMIN[0], "not-the-secret"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", r.stderr)
        r = h.aws("s3", "cp", MEDAN, f"s3://{BUCKET}/x.csv", key=("AKIDNOBODY", "whatever"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidAccessKeyId", r.stderr)
        h.assert_nothing_left()
        self.assertEqual(h.env.reports(), [])

    def test_a_key_limited_to_stores_uploads_only_those(self):
        h = self.serving()
        r = h.aws("s3", "cp", MAKASSAR, f"s3://{BUCKET}/makassar.csv", key=MEDAN_ONLY)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDenied", r.stderr)
        self.assertIn("Makassar", r.stderr)
        r = h.aws("s3", "cp", MEDAN, f"s3://{BUCKET}/medan.csv", key=MEDAN_ONLY)
        self.assertEqual(r.returncode, 0, r.stderr)
        h.wait_loaded("medan.csv")
        self.assertEqual(h.env.query("SELECT DISTINCT store FROM inventory"), [("Medan",)])

    def test_multipart_abort_leaves_nothing(self):
        h = self.serving()
        r = h.aws("s3api", "create-multipart-upload", "--bucket", BUCKET, "--key", "m.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        upload_id = json.loads(r.stdout)["UploadId"]
        r = h.aws("s3api", "upload-part", "--bucket", BUCKET, "--key", "m.csv", "--part-number",
                  "1", "--upload-id", upload_id, "--body", MEDAN)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["ETag"], '"%s"' % hashlib.md5(read(MEDAN)).hexdigest())
        r = h.aws("s3api", "abort-multipart-upload", "--bucket", BUCKET, "--key", "m.csv",
                  "--upload-id", upload_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = h.aws("s3api", "complete-multipart-upload", "--bucket", BUCKET, "--key", "m.csv",
                  "--upload-id", upload_id, "--multipart-upload",
                  json.dumps({"Parts": [{"PartNumber": 1, "ETag": "x"}]}))
        self.assertIn("NoSuchUpload", r.stderr)
        h.assert_nothing_left()

    # --- uploads with curl -------------------------------------------------------------

    def test_curl_sigv4_upload_and_digests(self):
        h = self.serving()
        body = read(MAKASSAR)
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        status, head, _ = h.signed_put("curl/makassar.csv", MAKASSAR,
                                       headers=[f"Content-MD5: {md5}",
                                                f"x-amz-checksum-crc32: {crc}"])
        self.assertEqual(status, 200)
        self.assertIn(f'ETag: "{hashlib.md5(body).hexdigest()}"', head)
        self.assertIn(f"x-amz-checksum-crc32: {crc}", head)
        h.wait_loaded("curl/makassar.csv")

        wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        status, _, body_xml = h.signed_put("bad-md5.csv", MEDAN, headers=[f"Content-MD5: {wrong_md5}"])
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>BadDigest</Code>", body_xml)
        wrong_crc = base64.b64encode((1234).to_bytes(4, "big")).decode()
        status, _, body_xml = h.signed_put("bad-crc.csv", MEDAN,
                                           headers=[f"x-amz-checksum-crc32: {wrong_crc}"])
        self.assertEqual(status, 400)
        self.assertIn(b"x-amz-checksum-crc32", body_xml)
        # A signed payload hash that does not match the body.
        status, _, body_xml = h.curl(
            "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{ADMIN[0]}:{ADMIN[1]}",
            "-H", "x-amz-content-sha256: " + hashlib.sha256(b"something else").hexdigest(),
            "-T", MEDAN, f"{h.base}/{BUCKET}/bad-sha.csv")
        self.assertEqual(status, 400)
        self.assertIn(b"XAmzContentSHA256Mismatch", body_xml)
        # Unsigned, with credentials configured.
        status, _, body_xml = h.curl("-T", MEDAN, f"{h.base}/{BUCKET}/anon.csv")
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body_xml)
        time.sleep(0.5)
        h.assert_nothing_left()
        self.assertEqual([r[0] for r in h.env.query("SELECT path FROM reports")],
                         ["curl/makassar.csv"])

    def test_every_s3_error_over_curl(self):
        h = self.serving()
        ok = h.signed("PUT", f"/{BUCKET}/signed.csv", "--data-binary", f"@{MEDAN}")
        self.assertEqual(ok[0], 200, ok[2])
        h.wait_loaded("signed.csv")
        cases = [
            # (what, method, path, extra curl args, signing, status, code)
            ("a clock an hour off", "PUT", f"/{BUCKET}/a.csv", ["--data-binary", f"@{MEDAN}"],
             {"when": time.time() - 3600}, 403, "RequestTimeTooSkewed"),
            ("an unknown key", "PUT", f"/{BUCKET}/a.csv", ["--data-binary", f"@{MEDAN}"],
             {"key": ("AKIDNOBODY", "x")}, 403, "InvalidAccessKeyId"),
            ("a wrong secret", "PUT", f"/{BUCKET}/a.csv", ["--data-binary", f"@{MEDAN}"],
             {"key": (ADMIN[0], "wrong")}, 403, "SignatureDoesNotMatch"),
            ("a signature for another host", "PUT", f"/{BUCKET}/a.csv",
             ["--data-binary", f"@{MEDAN}"], {"host": "elsewhere:1"}, 403, "SignatureDoesNotMatch"),
            ("another bucket", "PUT", "/other/a.csv", ["--data-binary", f"@{MEDAN}"], {}, 404,
             "NoSuchBucket"),
            ("reading an object", "GET", f"/{BUCKET}/signed.csv", [], {}, 501, "NotImplemented"),
            ("listing the bucket", "GET", f"/{BUCKET}", [], {}, 501, "NotImplemented"),
            ("deleting an object", "DELETE", f"/{BUCKET}/signed.csv", [], {}, 501, "NotImplemented"),
            ("an unknown multipart upload", "DELETE", f"/{BUCKET}/a.csv", [],
             {"query": "uploadId=0123456789abcdef0123456789abcdef"}, 404, "NoSuchUpload"),
            ("a part of an unknown upload", "PUT", f"/{BUCKET}/a.csv", ["--data-binary", "x"],
             {"query": "partNumber=1&uploadId=00000000000000000000000000000000"}, 404,
             "NoSuchUpload"),
            ("a PUT without a length", "PUT", f"/{BUCKET}/a.csv", [], {}, 411,
             "MissingContentLength"),
        ]
        for what, method, path, args, signing, status, code in cases:
            with self.subTest(what):
                got, _, body = h.signed(method, path, *args, **signing)
                self.assertEqual(got, status, body)
                self.assertIn(f"<Code>{code}</Code>".encode(), body)
        status, _, body = h.curl("-I", f"{h.base}/{BUCKET}/a.csv")
        self.assertEqual(status, 403)
        status, _, _ = h.signed("HEAD", f"/{BUCKET}", "-I")
        self.assertEqual(status, 200)
        h.assert_nothing_left()
        self.assertEqual([r[1] for r in h.env.reports()], ["signed.csv"])

    def test_uploads_are_off_without_credentials(self):
        h = self.serving(http_lines=['listen = "127.0.0.1:0"'], credentials=())
        status, _, body = h.curl("-T", MEDAN, f"{h.base}/{BUCKET}/a.csv")
        self.assertEqual(status, 403)
        self.assertIn(b"uploads are turned off", body)
        self.assertIn("S3 uploads are off (no [[http.credential]])", h.env.daemon.log())
        # The rest of the server works, without a token.
        status, _ = h.get_json("/api/reports", token=None)
        self.assertEqual(status, 200)

    def test_readyz_fails_while_the_inbox_folder_is_missing(self):
        h = self.serving()
        parked = h.env.inbox + ".away"
        os.rename(h.env.inbox, parked)
        try:
            def not_ready():
                status, body = h.get_json("/readyz", token=None)
                return status == 503 and body["components"]["inbox"]["state"] == "not watched"
            harness.wait_for(not_ready, "/readyz to say the inbox is not watched")
        finally:
            os.rename(parked, h.env.inbox)
        harness.wait_for(lambda: h.get_json("/readyz", token=None)[0] == 200,
                         "/readyz to recover once the inbox is back", timeout=30)

    def test_keys_never_leave_the_inbox(self):
        h = self.serving()
        outside = os.path.join(h.env.root, "escaped.csv")
        bad = {
            "..%2Fescaped.csv": "InvalidArgument",
            "a/..%2F..%2Fescaped.csv": "InvalidArgument",
            "%2Fetc%2Fescaped.csv": "InvalidArgument",
            "nul%00.csv": "InvalidArgument",
            "back%5Cslash.csv": "InvalidArgument",
            ".hidden.csv": "InvalidArgument",
            "report.txt": "InvalidArgument",
            "x" * 600 + ".csv": "KeyTooLongError",
        }
        for key, code in bad.items():
            status, _, body = h.signed_put(key, MEDAN)
            self.assertEqual(status, 400, key)
            self.assertIn(f"<Code>{code}</Code>".encode(), body, key)
        # A raw "../" in the path, as curl would normalise it away.
        status, _, body = h.curl("--path-as-is", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                                 f"{ADMIN[0]}:{ADMIN[1]}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                                 "-T", MEDAN, f"{h.base}/{BUCKET}/../escaped.csv")
        self.assertIn(status, (400, 404))
        self.assertFalse(os.path.exists(outside))
        h.assert_nothing_left()
        self.assertEqual(h.env.reports(), [])

    def test_upload_limits_and_cut_off_bodies(self):
        h = self.serving(http_lines=['listen = "127.0.0.1:0"', "max_upload_bytes = 1000",
                                     "read_timeout_s = 1", "allow_anonymous_upload = true"],
                         credentials=())
        big = os.path.join(h.env.root, "big.csv")
        generate_report(big, 5000)
        status, _, body = h.curl("-T", big, f"{h.base}/{BUCKET}/big.csv")
        self.assertEqual(status, 413)
        self.assertIn(b"EntityTooLarge", body)
        # Chunked, so the size is known only while reading.
        status, _, _ = h.curl("-H", "Transfer-Encoding: chunked", "-T", big, f"{h.base}/{BUCKET}/big.csv")
        self.assertEqual(status, 413)
        # A body cut off midway: the client goes away.
        h.raw(b"PUT /inventory/cut.csv HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n"
              b"store,item,count\nMedan,A,1\n", read=False)
        # A body that stops arriving: the read times out.
        answer = h.raw(b"PUT /inventory/slow.csv HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n"
                       b"store,item,count\n", timeout=10)
        self.assertNotIn(b"200 OK", answer)
        harness.wait_for(lambda: not h.staging_files(), "staging to be empty")
        h.assert_nothing_left()
        self.assertEqual(h.env.reports(), [])
        # Anonymous uploads are allowed here (loopback): a whole one works.
        status, _, _ = h.curl("-T", MEDAN, f"{h.base}/{BUCKET}/anon.csv")
        self.assertEqual(status, 200)
        h.wait_loaded("anon.csv")

    def test_anonymous_upload_is_refused_on_a_public_address(self):
        env = self.make_env()
        env.write_config()
        with open(env.config, "a", encoding="utf-8") as f:
            f.write('\n[http]\nlisten = "0.0.0.0:0"\nallow_anonymous_upload = true\n')
        r = env.run_cli("check-config", "--config", env.config)
        self.assertEqual(r.returncode, 1)
        self.assertIn("http.allow_anonymous_upload", r.stdout + r.stderr)
        r = env.run_cli("serve", "--config", env.config, timeout=30)
        self.assertNotEqual(r.returncode, 0)

    # --- operations routes and the API -----------------------------------------------------

    def test_healthcheck_command(self):
        """`stockwatch healthcheck`, the container's HEALTHCHECK, on a fixed port."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        h = self.serving(http_lines=[f'listen = "0.0.0.0:{port}"'], credentials=(ADMIN,))
        r = h.env.run_cli("healthcheck", "--config", h.env.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"http://127.0.0.1:{port}/healthz: 200", r.stdout)
        h.env.stop_daemon()
        r = h.env.run_cli("healthcheck", "--config", h.env.config)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        h.env.write_config()
        r = h.env.run_cli("healthcheck", "--config", h.env.config)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("http.listen is empty", r.stdout)

    def test_health_metrics_and_api(self):
        h = self.serving()
        status, body = h.get_json("/healthz", token=None)
        self.assertEqual((status, body["status"]), (200, "ok"))
        status, body = h.get_json("/readyz", token=None)
        self.assertEqual(status, 200)
        self.assertTrue(body["ready"])
        self.assertEqual(body["components"]["database"]["state"], "ok")
        self.assertEqual(body["components"]["inbox"]["mode"], "inotify")
        self.assertEqual(body["outbox"], {"queued": 0, "dead": 0})

        for path in ("/metrics", "/api/inventory", "/api/reports", "/api/alerts"):
            status, head, _ = h.get(path, token=None)
            self.assertEqual(status, 401, path)
            self.assertIn("WWW-Authenticate: Bearer", head)
            status, _, _ = h.get(path, token="wrong")
            self.assertEqual(status, 401, path)

        h.env.drop(MEDAN, "medan.csv")
        h.env.drop(MAKASSAR, "makassar.csv")
        h.env.drop_text("bad.csv", "store,item,count\nMedan,Kopi,1.000\n")
        h.env.wait_archived(3)
        h.env.wait_for(lambda: len(h.env.outbox()) == 3, "3 alerts")

        status, inv = h.get_json("/api/inventory?out_of_stock=true")
        self.assertEqual(status, 200)
        self.assertEqual([(i["store"], i["item"], i["count"]) for i in inv["items"]],
                         [("Makassar", "Arabika Kalosi", 0), ("Medan", "Robusta Dairi", 0)])
        # Pages of 5 over the 12 rows, by cursor.
        seen, path = [], "/api/inventory?limit=5"
        while True:
            status, page = h.get_json(path)
            self.assertEqual(status, 200)
            seen += [(i["store"], i["item"]) for i in page["items"]]
            if not page["next_cursor"]:
                break
            path = f"/api/inventory?limit=5&cursor={page['next_cursor']}"
        self.assertEqual(len(seen), 12)
        self.assertEqual(seen, sorted(seen))
        status, inv = h.get_json("/api/inventory?store=Medan")
        self.assertEqual({i["store"] for i in inv["items"]}, {"Medan"})

        status, reps = h.get_json("/api/reports?status=rejected")
        self.assertEqual(status, 200)
        self.assertEqual(len(reps["items"]), 1)
        self.assertEqual(reps["items"][0]["path"], "bad.csv")
        self.assertIn("line 2, column count", reps["items"][0]["errors"][0])
        status, reps = h.get_json("/api/reports?limit=2")
        self.assertEqual(len(reps["items"]), 2)
        status, older = h.get_json(f"/api/reports?limit=2&before={reps['next_before']}")
        self.assertEqual(len(older["items"]), 1)

        status, alerts = h.get_json("/api/alerts")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(a["event"] for a in alerts["items"]),
                         ["out_of_stock", "out_of_stock", "report_rejected"])
        self.assertTrue(all(a["state"] == "sent" for a in alerts["items"]))
        status, alerts = h.get_json("/api/alerts?state=dead")
        self.assertEqual(alerts["items"], [])

        for bad in ("/api/inventory?limit=0", "/api/inventory?cursor=zzz",
                    "/api/reports?status=maybe", "/api/alerts?colour=red"):
            status, body = h.get_json(bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", body)
        status, _ = h.get_json("/api/nothing")
        self.assertEqual(status, 404)
        status, head, _ = h.curl("-X", "POST", f"{h.base}/healthz")
        self.assertEqual(status, 405)

        status, head, metrics = h.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("text/plain; version=0.0.4", head)
        text = metrics.decode()
        for line in ('stockwatch_reports_total{result="loaded"} 2',
                     'stockwatch_reports_total{result="rejected"} 1',
                     "stockwatch_rows_loaded_total 12",
                     'stockwatch_alerts_total{event="out_of_stock"} 2',
                     'stockwatch_alerts_total{event="report_rejected"} 1',
                     'stockwatch_emails_total{result="sent"} 3',
                     'stockwatch_outbox_messages{state="queued"} 0',
                     "stockwatch_ingest_duration_seconds_count 3",
                     "stockwatch_inbox_rescans_total",
                     "stockwatch_inbox_overflows_total 0",
                     'stockwatch_http_requests_total{route="readyz",status="200"} 1'):
            self.assertIn(line, text)

    def test_hostile_clients_do_not_stop_the_server(self):
        h = self.serving()
        # A header larger than the limit.
        answer = h.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertIn(b"431", answer.split(b"\r\n", 1)[0])
        # Not HTTP at all.
        answer = h.raw(b"\x16\x03\x01 hello, this is not HTTP\r\n\r\n")
        self.assertIn(b"400", answer.split(b"\r\n", 1)[0])
        # A bad signature, an unknown bucket, a path that tries to escape.
        status, _, body = h.curl("-H", "Authorization: AWS4-HMAC-SHA256 Credential=x", "-T", MEDAN,
                                 f"{h.base}/{BUCKET}/a.csv")
        self.assertEqual(status, 400)
        self.assertIn(b"AuthorizationHeaderMalformed", body)
        # Slowloris: many connections that send half a header and wait.
        idle = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", h.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            idle.append(s)
        try:
            status, body = h.get_json("/healthz", token=None)
            self.assertEqual(status, 200)
            # Each idle connection is answered (408) or closed after read_timeout_s.
            for s in idle:
                s.settimeout(10)
                data, closed = read_until_closed(s)
                if not closed:
                    self.fail("an idle connection was kept open past the read timeout")
                self.assertTrue(data == b"" or b"408" in data.split(b"\r\n", 1)[0], data[:80])
        finally:
            for s in idle:
                s.close()
        r = h.aws("s3", "cp", MEDAN, f"s3://{BUCKET}/after.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        h.wait_loaded("after.csv")
        h.env.stop_daemon()

    # --- routes, HEAD, authentication, connections ----------------------------------

    def test_head_has_the_length_of_get_on_every_route(self):
        h = self.serving()
        h.env.drop(MEDAN, "medan.csv")
        h.wait_loaded("medan.csv")
        for path in ("/healthz", "/readyz", "/metrics", "/api/inventory", "/api/reports",
                     "/api/alerts", "/api/nothing", "/", "/favicon.ico", "/_console/",
                     f"/{BUCKET}/a.csv", f"/{BUCKET}"):
            with self.subTest(path):
                auth = ["-H", f"Authorization: Bearer {TOKEN}"]
                # /readyz and /metrics change between two requests (a counter,
                # the loop's lag): each is asked twice, and one of the pairs of
                # GET and HEAD must agree.
                for _ in range(5):
                    status, head, body = h.curl(*auth, f"{h.base}{path}")
                    # Raw, as curl would wait for the body HEAD announces.
                    answer = h.raw(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                   f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
                    hhead, _, hbody = answer.decode("latin-1").partition("\r\n\r\n")
                    hstatus = int(hhead.split(" ", 2)[1])
                    length = re.search(r"^Content-Length: (\d+)", hhead, re.M | re.I)
                    self.assertEqual(hstatus, status)
                    self.assertEqual(hbody, "")
                    self.assertIsNotNone(length, hhead)
                    self.assertGreater(len(body), 0)
                    if int(length.group(1)) == len(body):
                        break
                else:
                    self.fail(f"HEAD {path} says Content-Length {length.group(1)}, "
                              f"GET sends {len(body)} bytes")

    def test_an_aborted_upload_answers_204_without_a_length(self):
        h = self.serving()
        status, _, body = h.signed("POST", f"/{BUCKET}/big.csv", query="uploads=")
        self.assertEqual(status, 200, body)
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()
        status, head, body = h.signed("DELETE", f"/{BUCKET}/big.csv", query=f"uploadId={upload_id}")
        self.assertEqual(status, 204, body)
        self.assertNotRegex(head, re.compile(r"^Content-Length:", re.M | re.I))
        self.assertEqual(body, b"")
        h.assert_nothing_left()

    def test_a_browser_gets_pages_not_s3_errors(self):
        h = self.serving()
        # The root sends a browser to the web console, which asks it to sign in.
        status, head, body = h.curl(f"{h.base}/")
        self.assertEqual(status, 303)
        self.assertRegex(head, re.compile(r"^Location: /_console/\r?$", re.M | re.I))
        status, head, body = h.curl(f"{h.base}/_console/")
        self.assertEqual(status, 303)
        self.assertRegex(head, re.compile(r"^Location: /_console/sign-in\r?$", re.M | re.I))
        status, head, body = h.curl(f"{h.base}/_console/sign-in")
        self.assertEqual(status, 200)
        self.assertIn("text/html", head)
        for path, words in (("/favicon.ico", b"nothing at /favicon.ico"),
                            ("/_other/", b"reserved for stockwatch's own pages")):
            status, head, body = h.curl(f"{h.base}{path}")
            self.assertEqual(status, 404, path)
            self.assertIn("text/plain", head)
            self.assertIn(words, body)
        # An S3 client still hears S3 from any bucket but the configured one.
        status, head, body = h.signed("GET", "/other/a.csv")
        self.assertEqual(status, 404)
        self.assertIn(b"<Code>NoSuchBucket</Code>", body)

    def test_the_api_asks_for_the_token_first_and_slows_down_guesses(self):
        h = self.serving()
        status, head, _ = h.get("/api/nothing", token=None)
        self.assertEqual(status, 401)
        self.assertIn("WWW-Authenticate: Bearer", head)
        status, _, _ = h.get("/api/nothing")
        self.assertEqual(status, 404)
        # Wrong tokens: each answer waits longer than the one before (0.1 s,
        # 0.2 s, 0.4 s, 0.8 s), while other clients are served at once.
        started = time.monotonic()
        for _ in range(4):
            status, _, _ = h.get("/api/reports", token="guess")
            self.assertEqual(status, 401)
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        status, _, _ = h.get("/healthz", token=None)
        self.assertEqual(status, 200)
        log = h.env.daemon.log()
        self.assertIn("GET /api/reports refused: wrong bearer token (1 recent from 127.0.0.1", log)
        self.assertIn("(4 recent from 127.0.0.1; answered after 800 ms)", log)
        self.assertNotIn("guess", log)
        # The right token is answered at once (and leaves the count as it is).
        status, _, _ = h.get("/api/reports")
        self.assertEqual(status, 200)

    def assert_healthy_promptly(self, h, times, pause=0.0):
        """/healthz answers 200 "ok" within 2 s, `times` times in a row."""
        for _ in range(times):
            started = time.monotonic()
            status, body = h.get_json("/healthz", token=None)
            self.assertEqual((status, body["status"]), (200, "ok"))
            self.assertLess(time.monotonic() - started, 2.0)
            time.sleep(pause)

    def test_idle_sockets_do_not_fail_the_health_check(self):
        h = self.serving(http_lines=['listen = "127.0.0.1:0"', f"token = {toml_str(TOKEN)}",
                                     "max_connections = 8", "read_timeout_s = 30"])
        idle = [socket.create_connection(("127.0.0.1", h.port)) for _ in range(8)]
        try:
            time.sleep(0.2)   # let the daemon accept all eight
            self.assert_healthy_promptly(h, 3)
        finally:
            for s in idle:
                s.close()

    def test_slot_holders_and_token_guessers_do_not_fail_the_health_check(self):
        # Eight connections hold every slot: four sent one byte of a request
        # and stopped, four repeat wrong tokens on keep-alive connections
        # (each answer delayed up to 5 s), reconnecting when closed.
        h = self.serving(http_lines=['listen = "127.0.0.1:0"', f"token = {toml_str(TOKEN)}",
                                     "max_connections = 8", "read_timeout_s = 30"])
        stop = threading.Event()
        guesses = []

        def guess_until_stopped():
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
                    conn.request("GET", "/api/reports", headers={"Authorization": "Bearer guess"})
                    response = conn.getresponse()
                    response.read()
                    guesses.append(response.status)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        one_byte = []
        guessers = [threading.Thread(target=guess_until_stopped) for _ in range(4)]
        try:
            for _ in range(4):
                s = socket.create_connection(("127.0.0.1", h.port))
                s.sendall(b"G")
                one_byte.append(s)
            for t in guessers:
                t.start()
            time.sleep(1.0)   # let the guessers reach delayed answers
            self.assert_healthy_promptly(h, 5, pause=0.3)
        finally:
            stop.set()
            for t in guessers:
                t.join(timeout=15)
            for s in one_byte:
                s.close()
        self.assertIn(401, guesses)

    def test_an_upload_into_a_new_folder_loads_without_waiting_to_settle(self):
        # A settle time far longer than the test waits: a report found by
        # scanning its new folder would wait for it. An upload is complete
        # when placed, and is taken at once, new folder or not.
        # Whether the inbox scans a new folder before or after the report is
        # renamed into it is a race: several folders make sure it is lost
        # at least once.
        h = self.serving(settle_ms=60_000)
        keys = [f"new-{i}/deeper/medan.csv" for i in range(10)] + ["existing.csv"]
        for key in keys:
            started = time.monotonic()
            status, _, body = h.signed_put(key, MEDAN)
            self.assertEqual(status, 200, body)
            h.env.wait_for(lambda: h.env.query("SELECT status FROM reports WHERE path = ?", (key,)),
                           f"{key} in the ledger", timeout=10)
            self.assertLess(time.monotonic() - started, 5.0, key)


if __name__ == "__main__":
    unittest.main()

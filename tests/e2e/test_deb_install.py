"""End to end: the Debian package installed into a clean Debian 12 root
(debootstrap, minbase) with scripts/install-package.sh, as the Docker image
does: `stockwatch --version` and `check-config` run there, postinst made
the user, the folders and the configuration with the documented owners and
modes, a report loads, a reinstall with `dpkg -i` keeps an edited
configuration, and a purge removes it. Needs root (chroot, mount) and the
network (the Debian mirror this machine's apt uses); see chroot.py for the
cached root."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import chroot
import harness

INSTALL_SCRIPT = os.path.join(harness.SOURCE_DIR, "scripts", "install-package.sh")
CONFIG = "/etc/stockwatch/stockwatch.toml"

# docs/operations.md, "From the Debian package": path -> (owner, group, mode).
EXPECTED_MODES = {
    "/var/lib/stockwatch": ("stockwatch", "stockwatch", 0o750),
    "/var/lib/stockwatch/inbox": ("stockwatch", "stockwatch", 0o2775),
    "/var/lib/stockwatch/processed": ("stockwatch", "stockwatch", 0o750),
    "/var/lib/stockwatch/failed": ("stockwatch", "stockwatch", 0o750),
    "/var/lib/stockwatch/mail": ("stockwatch", "stockwatch", 0o700),
    "/etc/stockwatch": ("root", "stockwatch", 0o750),
    CONFIG: ("root", "stockwatch", 0o640),
}


def needs_root(test):
    if os.geteuid() != 0:
        test.skipTest("installing into a chroot needs root (make test runs as root in CI)")
    for tool in ("debootstrap", "chroot", "mount"):
        if not shutil.which(tool):
            test.fail(f"{tool} is not installed: run scripts/install-deps.sh test")


class DebInstallTest(unittest.TestCase):

    def test_install_run_reinstall_purge_in_a_clean_debian_root(self):
        needs_root(self)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="stockwatch-deb-") as out:
            deb = harness.build_deb(self, out)
            sys.stderr.write(f"[cpack: {time.monotonic() - started:.0f} s] ")
            with chroot.fresh_root() as root:
                self.check_in(root, deb)
        sys.stderr.write(f"[total: {time.monotonic() - started:.0f} s] ")

    def check_in(self, root, deb):
        shutil.copy(deb, os.path.join(root, "tmp"))
        shutil.copy(INSTALL_SCRIPT, os.path.join(root, "tmp"))
        inside_deb = "/tmp/" + os.path.basename(deb)

        # 1. Install, as the Docker image does.
        started = time.monotonic()
        r = chroot.run(root, "sh", "/tmp/install-package.sh", inside_deb)
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-4000:])
        sys.stderr.write(f"[install-package.sh: {time.monotonic() - started:.0f} s] ")

        # 2. It runs, and the configuration postinst made is valid.
        want_version = subprocess.run([harness.BINARY, "--version"], capture_output=True,
                                      text=True, check=True).stdout
        r = chroot.run(root, "stockwatch", "--version")
        self.assertEqual((r.returncode, r.stdout), (0, want_version), r.stderr)
        r = chroot.run(root, "stockwatch", "check-config", "--config", CONFIG)
        self.assertEqual((r.returncode, r.stdout), (0, f"{CONFIG}: ok\n"), r.stderr)

        # 3. The user, the group, the folders and the configuration.
        user = chroot.account(root, "stockwatch")
        self.assertIsNotNone(user, "postinst created no user stockwatch")
        uid, gid, home, shell = user
        self.assertLess(uid, 1000, "a system user")
        self.assertEqual(gid, chroot.group_id(root, "stockwatch"))
        self.assertEqual((home, shell), ("/var/lib/stockwatch", "/usr/sbin/nologin"))
        ids = {"root": (0, 0), "stockwatch": (uid, gid)}
        for path, (owner, group, mode) in EXPECTED_MODES.items():
            st = os.lstat(os.path.join(root, path.lstrip("/")))
            got = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
            self.assertEqual(got, (ids[owner][0], ids[group][1], mode),
                             f"{path}: owner, group, mode {oct(got[2])}")

        # 4. The service user can read its configuration and load a report
        #    into /var/lib/stockwatch (the alert goes to the Maildir).
        sample = os.path.join(root, "tmp", "inventory-medan.csv")
        shutil.copyfile(harness.sample("inventory-medan.csv"), sample)
        os.chmod(sample, 0o644)
        r = chroot.run(root, "stockwatch", "check-config", "--config", CONFIG, user=(uid, gid))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = chroot.run(root, "stockwatch", "ingest", "--config", CONFIG,
                       "/tmp/inventory-medan.csv", user=(uid, gid))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"inventory-medan\.csv: loaded 6 rows")
        state = os.path.join(root, "var/lib/stockwatch")
        self.assertEqual(os.stat(os.path.join(state, "stockwatch.db")).st_uid, uid)
        self.assertEqual(len(os.listdir(os.path.join(state, "mail", "new"))), 1)

        # 5. dpkg -i over the installed package: an edited configuration stays.
        with open(os.path.join(root, CONFIG.lstrip("/")), "a", encoding="utf-8") as f:
            f.write("# edited by the administrator\n")
        r = chroot.run(root, "dpkg", "-i", inside_deb)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(root, CONFIG.lstrip("/")), encoding="utf-8") as f:
            self.assertTrue(f.read().endswith("# edited by the administrator\n"))
        self.assertEqual(chroot.account(root, "stockwatch"), user)

        # 6. Purge: the configuration goes, the data and the user stay.
        r = chroot.run(root, "dpkg", "--purge", "stockwatch")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(root, "etc/stockwatch")))
        self.assertFalse(os.path.exists(os.path.join(root, "usr/bin/stockwatch")))
        self.assertTrue(os.path.exists(os.path.join(state, "stockwatch.db")))
        self.assertEqual(chroot.account(root, "stockwatch"), user)


class MountsTest(unittest.TestCase):
    """The chroot's mounts are released however the block ends."""

    def test_mounts_are_released_when_the_block_fails(self):
        needs_root(self)
        with tempfile.TemporaryDirectory(prefix="stockwatch-mounts-") as root:
            with self.assertRaises(ZeroDivisionError):
                with chroot.Mounts(root) as mounts:
                    mounts.mount("proc", "proc", "/proc")
                    mounts.mount("tmpfs", "tmpfs", "/run", "size=1m")
                    self.assertEqual(len(chroot.mounts_under(root)), 2)
                    1 / 0
            self.assertEqual(chroot.mounts_under(root), [])

    def test_a_busy_mount_is_detached(self):
        needs_root(self)
        with tempfile.TemporaryDirectory(prefix="stockwatch-mounts-") as root:
            with chroot.Mounts(root) as mounts:
                run = mounts.mount("tmpfs", "tmpfs", "/run", "size=1m")
                busy = open(os.path.join(run, "held"), "w")
            busy.close()
            self.assertEqual(chroot.mounts_under(root), [])

    def test_the_mirror_is_the_one_apt_uses(self):
        mirror = chroot.host_mirror()
        self.assertRegex(mirror, r"^(https?|file)://")
        if os.path.exists("/etc/apt/sources.list.d/debian.sources") or \
                os.path.exists("/etc/apt/sources.list"):
            self.assertNotIn("security", mirror)


if __name__ == "__main__":
    unittest.main()

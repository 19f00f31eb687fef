"""A clean Debian 12 root for installing the package into: bootstrapped
once with debootstrap (minbase) from the Debian mirror this machine's apt
uses, kept in the build folder, and copied afresh for every use.

Bootstrapping takes several minutes (mostly downloading and unpacking about
90 packages), so the pristine root is cached under
BUILD_DIR/test-chroot/bookworm-minbase; `make clean` (or removing that
folder) makes the next run bootstrap again. A run works on a copy, with
/proc mounted inside it, and unmounts everything before the copy is removed,
also when the test fails.
"""

import contextlib
import glob
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import harness

SUITE = "bookworm"
CACHE_DIR = os.path.join(harness.BUILD_DIR, "test-chroot")
PRISTINE = os.path.join(CACHE_DIR, f"{SUITE}-minbase")
STAMP = os.path.join(PRISTINE, ".stockwatch-bootstrapped")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BOOTSTRAP_TIMEOUT = 1500
# A plain environment for commands inside the root.
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}


def _source_entries():
    """(uris, suites, components) of every apt source on this machine, in
    both the one-line (.list) and the deb822 (.sources) format."""
    entries = []
    lists = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]
    for path in lists:
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) >= 3 and words[0] == "deb":
                    if words[1].startswith("["):   # [ options ]
                        while words and not words[0].endswith("]"):
                            words.pop(0)
                        words.pop(0)
                        words.insert(0, "deb")
                    entries.append(([words[1]], [words[2]], words[3:]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
            stanzas = f.read().split("\n\n")
        for stanza in stanzas:
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                entries.append((fields.get("uris", []), fields.get("suites", []),
                                fields.get("components", [])))
    return entries


def host_mirror():
    """The Debian mirror this machine's apt installs bookworm's main from
    (deb.debian.org when none is configured)."""
    for uris, suites, components in _source_entries():
        if SUITE in suites and "main" in components and uris:
            return uris[0].rstrip("/")
    return DEFAULT_MIRROR


def mounts_under(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            point = line.split()[4]
            # mountinfo escapes blanks and backslashes as octal.
            point = point.encode().decode("unicode_escape")
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


class Mounts:
    """Mounts made inside a root, released in reverse order when the block
    ends, however it ends. Leaving the block with a mount still in place is
    an error, so that nothing removes files through a live mount."""

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.points = []

    def __enter__(self):
        return self

    def mount(self, fstype, source, relative, options=None):
        target = os.path.join(self.root, relative.lstrip("/"))
        os.makedirs(target, exist_ok=True)
        args = ["mount", "-t", fstype]
        if options:
            args += ["-o", options]
        subprocess.run([*args, source, target], check=True, capture_output=True, text=True)
        self.points.append(target)
        return target

    def __exit__(self, *exc):
        for point in reversed(self.points):
            subprocess.run(["umount", point], capture_output=True)
        for point in mounts_under(self.root):
            # Busy (a process still inside): detach it instead.
            subprocess.run(["umount", "--lazy", point], capture_output=True)
        left = mounts_under(self.root)
        self.points = []
        if left:
            raise RuntimeError(f"still mounted under {self.root}: {left}")
        return False


def remove_tree(path):
    """Removes `path`, but never through a mount point inside it."""
    if mounts_under(path):
        raise RuntimeError(f"not removing {path}: {mounts_under(path)} still mounted")
    shutil.rmtree(path, ignore_errors=True)


def _log(text):
    sys.stderr.write(f"[{text}] ")
    sys.stderr.flush()


def pristine_root():
    """The cached, bootstrapped root (bootstrapping it first if needed).
    Returns (path, seconds spent bootstrapping now, or None when cached)."""
    if os.path.exists(STAMP):
        return PRISTINE, None
    os.makedirs(CACHE_DIR, exist_ok=True)
    building = tempfile.mkdtemp(prefix=f"{SUITE}-minbase.new-", dir=CACHE_DIR)
    try:
        # Only a complete root is stamped and kept; one cut short is removed.
        mirror = host_mirror()
        started = time.monotonic()
        r = subprocess.run(["debootstrap", "--variant=minbase", SUITE, building, mirror],
                           capture_output=True, text=True, timeout=BOOTSTRAP_TIMEOUT)
        if r.returncode != 0:
            raise AssertionError(f"debootstrap {SUITE} from {mirror} failed:\n"
                                 f"{r.stdout[-3000:]}{r.stderr[-3000:]}")
        elapsed = time.monotonic() - started
        os.chmod(building, 0o755)   # mkdtemp made it 0700: the root's /
        with open(os.path.join(building, os.path.basename(STAMP)), "w") as f:
            f.write(f"debootstrap --variant=minbase {SUITE} {mirror}: {elapsed:.0f} s\n")
        remove_tree(PRISTINE)
        os.rename(building, PRISTINE)
        return PRISTINE, elapsed
    finally:
        if os.path.exists(building):
            remove_tree(building)


def clear_leftovers():
    """Removes the copies of runs that were killed before cleaning up."""
    for old in glob.glob(os.path.join(CACHE_DIR, "run-*")) + \
            glob.glob(os.path.join(CACHE_DIR, f"{SUITE}-minbase.new-*")):
        with Mounts(old):
            pass
        remove_tree(old)


@contextlib.contextmanager
def fresh_root():
    """A copy of the pristine root with /proc mounted and the host's DNS
    settings, removed (after unmounting) when the block ends."""
    clear_leftovers()
    pristine, seconds = pristine_root()
    _log(f"debootstrap: {seconds:.0f} s" if seconds is not None
         else f"debootstrap: cached in {pristine}")
    run_dir = tempfile.mkdtemp(prefix="run-", dir=CACHE_DIR)
    try:
        root = os.path.join(run_dir, "root")
        started = time.monotonic()
        subprocess.run(["cp", "-a", "--reflink=auto", pristine, root], check=True)
        os.chmod(root, 0o755)
        _log(f"copy: {time.monotonic() - started:.0f} s")
        _ensure_devices(root)
        shutil.copyfile("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
        with Mounts(root) as mounts:
            mounts.mount("proc", "proc", "/proc")
            yield root
    finally:
        remove_tree(run_dir)


def _ensure_devices(root):
    """The few device nodes dpkg and apt use, should the copy lack them."""
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                               ("random", 1, 8), ("urandom", 1, 9)):
        path = os.path.join(root, "dev", name)
        if not os.path.exists(path):
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            os.chmod(path, 0o666)


def run(root, *args, user=None, timeout=600):
    """Runs a command inside `root` (as `user`, a (uid, gid) pair, if given)."""
    cmd = ["chroot"]
    if user:
        cmd.append(f"--userspec={user[0]}:{user[1]}")
    return subprocess.run([*cmd, root, *args], capture_output=True, text=True, env=CHROOT_ENV,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def account(root, name):
    """(uid, gid, home, shell) of a user in the root's /etc/passwd, or None."""
    with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(":")
            if fields[0] == name:
                return int(fields[2]), int(fields[3]), fields[5], fields[6]
    return None


def group_id(root, name):
    with open(os.path.join(root, "etc/group"), encoding="utf-8") as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2])
    return None


if __name__ == "__main__":
    # `make test` bootstraps the root while the build runs:
    #   STOCKWATCH_BINARY=build/stockwatch python3 tests/e2e/chroot.py
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        sys.exit("chroot.py: needs root and debootstrap; the test bootstraps (or skips) itself")
    path, seconds = pristine_root()
    print(f"{path}: " + (f"bootstrapped in {seconds:.0f} s" if seconds is not None else "cached"))

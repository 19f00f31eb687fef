#!/bin/sh
# Installs the Debian 12 packages stockwatch needs, and only those missing.
# Usage: scripts/install-deps.sh [build|package|test|bench]   (default: build)
#   build    compile stockwatch
#   package  also build the .deb (cpack -G DEB; docker/Dockerfile uses this)
#   test     also run `make test`
#   bench    also run bench/run.sh
# The packages stockwatch needs at run time are not listed here: the .deb
# depends on them, and scripts/install-package.sh installs them with it.
# Idempotent and quick when everything is present: it asks dpkg first and
# calls apt-get only for what is missing.
set -eu

profile="${1:-build}"

# libzip and libxml2 (its SAX2 push parser) read workbooks; libxlsxwriter writes the stock-count
# template (`stockwatch template`).
# libsodium-dev: Argon2id password hashes and random tokens (the web console).
# libgmime-3.0-dev: reads the MIME mails of [mailbox] (reports by email); the
# .deb depends on its library, libgmime-3.0-0, through dpkg-shlibdeps.
build_pkgs="build-essential cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libsqlite3-dev libcurl4-openssl-dev libssl-dev libspdlog-dev
  libtomlplusplus-dev libcli11-dev libsystemd-dev prometheus-cpp-dev
  libzip-dev libxml2-dev libxlsxwriter-dev libsodium-dev libpq-dev
  libgmime-3.0-dev"
# dpkg-dev: dpkg-shlibdeps, which computes the .deb's dependencies.
package_pkgs="dpkg-dev"
# systemd: systemd-analyze for the unit file; debootstrap: the clean Debian
# root that tests/e2e/test_deb_install.py installs the .deb into; strace:
# the system calls the daemon makes, checked against the unit's
# SystemCallFilter= (tests/e2e/test_service.py); openssl: the test
# certificates of tests/e2e/test_alerts.py; python3-openpyxl and
# libreoffice-calc-nogui and gnumeric (its ssconvert): the workbooks
# tests/support/make_workbooks.py makes for the workbook tests, each
# written by a spreadsheet program; opensmtpd: a second, independent
# mail server for one of its tests (on a machine with systemd the package
# also enables its own service on port 25; that test then skips itself);
# postgresql-15: the real PostgreSQL the storage tests start in a temporary
# folder as an unprivileged user (tests/unit/pg_test_server.hpp,
# tests/e2e/pg.py; its binaries in /usr/lib/postgresql/15/bin; the package
# also creates a cluster and, where systemd runs, a service the tests never
# use). libpq5, the client library, comes with libpq-dev and is a
# dependency of the .deb (dpkg-shlibdeps).
# chromium, chromium-driver and python3-selenium: the web console's tests in
# a real headless browser (tests/e2e/test_console.py).
# dovecot-imapd: the real IMAP server the mailbox tests start unprivileged in
# a temporary folder (tests/support/imap_server.py; the package also creates
# a system service the tests never use).
test_pkgs="libgtest-dev libgmock-dev python3 python3-aiosmtpd sqlite3 rsync curl
  systemd debootstrap strace openssl opensmtpd awscli
  python3-openpyxl libreoffice-calc-nogui gnumeric postgresql-15
  chromium chromium-driver python3-selenium dovecot-imapd"
# python3-openpyxl: the .xlsx of the workbook benchmark (bench/workbook_bench.py).
bench_pkgs="python3 sqlite3 time wrk python3-openpyxl"

case "$profile" in
  build)   want="$build_pkgs" ;;
  package) want="$build_pkgs $package_pkgs" ;;
  test)    want="$build_pkgs $package_pkgs $test_pkgs" ;;
  bench)   want="$build_pkgs $package_pkgs $test_pkgs $bench_pkgs" ;;
  *) echo "usage: $0 [build|package|test|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root (or install sudo) to install them" >&2
    exit 1
  fi
else
  SUDO=""
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once if they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mtime -1 2>/dev/null | head -n1)" ]; then
  $SUDO apt-get update -q
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

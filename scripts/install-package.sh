#!/bin/sh
# Installs a stockwatch Debian package with apt, on Debian 12: apt fetches
# the runtime packages it depends on (the shared libraries dpkg-shlibdeps
# found when it was built, and adduser) and ca-certificates, then dpkg runs
# its postinst, which creates the user stockwatch, /var/lib/stockwatch with
# the inbox and the archives, and /etc/stockwatch/stockwatch.toml.
#
# The Docker image's runtime stage (docker/Dockerfile) and the test that
# installs the package into a clean Debian 12 root
# (tests/e2e/test_deb_install.py) both run this script, so the test covers
# what the image runs.
#
# Usage: scripts/install-package.sh PATH/TO/stockwatch_VERSION_ARCH.deb   (as root)
set -eu

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 stockwatch_VERSION_ARCH.deb" >&2
  exit 2
fi
deb=$1
# apt treats a bare name as a package name: make it a path.
case "$deb" in
  /*|./*|../*) ;;
  *) deb="./$deb" ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates "$deb"
# Nothing of apt's download state is needed afterwards.
apt-get clean
rm -rf /var/lib/apt/lists/*

#!/usr/bin/env bash
# Installs the .deb for real with `apt-get install ./gov_*.deb`, uses it, and
# purges it — in a copy-on-write view of this machine's root (an overlay whose
# writes go to a temporary directory, in a private mount namespace), so
# nothing reaches the real system. Checks what a user gets: the tools on PATH,
# the stdlib beside govc, the `gov` user, govrun set-gid `gov`, and after
# `apt-get purge` no file of the package left and only the audit evidence
# (the user, /var/lib/gov) kept, as docs/packaging.md says.
#   install_in_overlay.sh PACKAGE.deb
# Exit 0 passed, 1 failed, 77 cannot run here (not root, no overlayfs or unshare).
set -euo pipefail
deb=$(realpath "$1")
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null || ! grep -qw overlay /proc/filesystems; then
  echo "SKIP: needs root, unshare and overlayfs"
  exit 77
fi
# The upper layer lives outside the root file system (overlayfs refuses
# layers inside one another): /dev/shm is a tmpfs.
work=$(mktemp -d /dev/shm/gov-deb-install.XXXXXX)
trap 'umount -R "$work/merged" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/upper" "$work/overlay-work" "$work/merged"
cp "$deb" "$work/upper-deb.deb"

unshare --mount --fork env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  WORK="$work" bash -euo pipefail -c '
  mount --make-rprivate /
  root=$WORK/merged
  mount -t overlay overlay -o "lowerdir=/,upperdir=$WORK/upper,workdir=$WORK/overlay-work" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/tmp"
  mount -t tmpfs tmpfs "$root/run"
  cp "$WORK/upper-deb.deb" "$root/tmp/gov.deb"
  fail() { echo "FAIL: $*"; exit 1; }
  in_root() { chroot "$root" "$@"; }

  echo "--- apt-get install ./gov.deb"
  if in_root dpkg-query -W -f="\${Status}" gov 2>/dev/null | grep -q "install ok installed"; then
    fail "gov is already installed on this machine; the test needs a root without it"
  fi
  in_root apt-get install -y -q /tmp/gov.deb >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log"; fail "apt-get install ./gov.deb"; }
  in_root dpkg-query -W -f="\${Status}\n" gov | grep -qx "install ok installed" || fail "gov is not installed"

  echo "--- the installed tools"
  in_root govc --version | grep -q "^govc " || fail "govc --version"
  in_root sh -c "cd /tmp && govc test --coverage-min 100% /usr/share/doc/gov/examples/agent.gov" ||
    fail "govc test of the installed example with the installed stdlib"
  in_root getent passwd gov >/dev/null || fail "no gov user"
  mode=$(in_root stat -c "%U:%G %a" /usr/bin/govrun)
  [ "$mode" = "root:gov 2755" ] || fail "govrun is $mode, not root:gov 2755"
  in_root man -w govc >/dev/null || fail "man govc"

  echo "--- apt-get purge gov"
  in_root apt-get purge -y -q gov >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "apt-get purge gov"; }
  in_root dpkg-query -W -f="\${Status}\n" gov 2>/dev/null | grep -q "installed" && fail "gov is still installed"
  left=$(cd "$WORK/upper" && find usr etc/bash_completion.d -type f 2>/dev/null | grep -v "^usr/share/man/index" || true)
  left=$(grep -E "gov|govc|govrun|govverify|govd|govconsole" <<<"$left" || true)
  [ -z "$left" ] || fail "files of the package left after purge: $left"
  in_root dpkg-statoverride --list /usr/bin/govrun >/dev/null 2>&1 && fail "the statoverride of govrun was kept"
  in_root getent passwd gov >/dev/null || fail "purge deleted the gov user (audit evidence stays, docs/packaging.md)"
  echo "installed, used and purged in an overlay of this root"
'

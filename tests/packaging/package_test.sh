#!/usr/bin/env bash
# Builds the Debian package from an already-built tree (cpack) and checks it
# without installing it on this machine: its control data (Depends, maintainer
# scripts), that apt could install it here (apt-get --simulate), and — in a
# temporary root it is extracted into (dpkg-deb -x) — that the installed
# tools run, govc finds the installed stdlib and passes the examples' tests,
# the man pages format without warnings, completions and systemd units are
# where their tools look, every documentation link resolves inside the tree,
# and the maintainer scripts do what docs/packaging.md says. Then, as root,
# a real `apt-get install ./gov_*.deb`, use and `apt-get purge` in an overlay
# of this root that keeps every write away from it (install_in_overlay.sh).
#   package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
step() { echo "--- $*"; }

step "cpack"
cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=("$work"/out/gov_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  ls -l "$work/out"; echo "FAIL: expected one gov_*.deb"; exit 1
fi
deb=${debs[0]}
echo "$(basename "$deb"): $(du -h "$deb" | cut -f1)"

step "control data"
info=$(dpkg-deb --info "$deb")
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = gov ] || fail "Package is $(field Package)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is $(field Architecture)"
depends=$(field Depends)
echo "Depends: $depends"
# Shared libraries the tools link (govrun is static; libsodium is linked statically
# everywhere), and passwd for the maintainer scripts.
for library in libc6 libstdc++6 libantlr4-runtime libcpp-httplib passwd; do
  grep -q "$library" <<<"$depends" || fail "Depends lacks $library"
done
for script in postinst prerm postrm; do
  grep -q " $script" <<<"$info" || fail "no $script in the control archive"
done

step "apt-get install --simulate"
# Resolves Depends against this system's Debian archive; changes nothing.
if ! simulate=$(apt-get install --simulate "$deb" 2>&1); then
  printf '%s\n' "$simulate"; fail "apt-get cannot install the package"
elif ! grep -q "^Inst gov " <<<"$simulate"; then
  printf '%s\n' "$simulate"; fail "apt-get would not install gov"
fi

step "contents"
root=$work/root
dpkg-deb -x "$deb" "$root"
for path in usr/bin/govc usr/bin/govrun usr/bin/govverify usr/bin/govconsole usr/sbin/govd \
  usr/share/gov/stdlib/shell.gov usr/share/doc/gov/README.md usr/share/doc/gov/docs/packaging.md \
  usr/share/doc/gov/examples/agent.gov usr/lib/systemd/system/govd.service usr/lib/systemd/system/govd.socket \
  usr/lib/sysusers.d/gov.conf usr/share/man/man1/govc.1.gz usr/share/man/man1/govrun.1.gz \
  usr/share/man/man1/govverify.1.gz usr/share/man/man1/govconsole.1.gz usr/share/man/man8/govd.8.gz \
  usr/share/bash-completion/completions/govc usr/share/zsh/vendor-completions/_govc \
  usr/share/fish/vendor_completions.d/govc.fish; do
  [ -e "$root/$path" ] || fail "missing /$path"
done
outside=$(find "$root" -mindepth 1 -maxdepth 1 ! -name usr)
[ -z "$outside" ] || fail "files outside /usr: $outside"
grep -q "^ExecStart=/usr/sbin/govd " "$root/usr/lib/systemd/system/govd.service" ||
  fail "govd.service does not start /usr/sbin/govd"
grep -q "file:/usr/share/doc/gov/docs/govd.md" "$root/usr/lib/systemd/system/govd.service" ||
  fail "govd.service's Documentation= is not the installed govd.md"
for tool in usr/bin/govc usr/bin/govverify usr/bin/govconsole usr/sbin/govd; do
  if readelf -d "$root/$tool" | grep -qE "RPATH|RUNPATH"; then fail "/$tool keeps a run path"; fi
done

step "the installed tools run"
unset GOV_STDLIB
[ "$("$root/usr/bin/govc" --version)" = "govc $(field Version)" ] || fail "govc --version"
"$root/usr/bin/govrun" --version >/dev/null || fail "govrun --version"
"$root/usr/bin/govverify" --version >/dev/null || fail "govverify --version"
"$root/usr/bin/govconsole" --version >/dev/null || fail "govconsole --version"
"$root/usr/sbin/govd" --help >/dev/null || fail "govd --help"
# The demo's policy and its siblings, with the stdlib found beside the installed govc.
for policy in "$root"/usr/share/doc/gov/examples/*.gov; do
  (cd "$work" && NO_COLOR=1 "$root/usr/bin/govc" test --coverage-min 100% "$policy") >"$work/test.log" 2>&1 ||
    { cat "$work/test.log"; fail "govc test $(basename "$policy") from the package"; }
done
# Without its stdlib, govc fails closed and names where it looked.
mkdir -p "$work/bare/bin"
cp "$root/usr/bin/govc" "$work/bare/bin/"
if "$work/bare/bin/govc" check "$root/usr/share/doc/gov/examples/agent.gov" >"$work/bare.log" 2>&1; then
  fail "govc without an installed stdlib accepted a policy that imports std modules"
fi
grep -q "the standard library is not installed at \`$work/bare/share/gov/stdlib\`" "$work/bare.log" ||
  { cat "$work/bare.log"; fail "govc without its stdlib does not say where it looked"; }

step "man pages"
"$source_dir/tests/packaging/man_pages_test.sh" "$root/usr/share/man" "$root/usr/bin:$root/usr/sbin" || fail "man pages"

step "documentation links"
python3 "$source_dir/tests/packaging/check_doc_links.py" "$root/usr/share/doc/gov" "$root/usr" ||
  fail "broken links in the installed documentation"

step "maintainer scripts"
dpkg-deb -e "$deb" "$work/control"
if command -v shellcheck >/dev/null; then
  shellcheck -s sh "$work"/control/{postinst,prerm,postrm} || fail "shellcheck"
fi
# Run them with stand-ins for the commands they call, which log their arguments.
stubs=$work/stubs
mkdir -p "$stubs"
# make_stub NAME SHELL-CODE: a NAME that logs its arguments, then runs the code.
make_stub() {
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n%s\n' "$1" "$work/calls" "$2" >"$stubs/$1"
  chmod +x "$stubs/$1"
}
make_stub getent 'exit 2'   # no such user or group yet
# shellcheck disable=SC2016 # the stub expands it
make_stub dpkg-statoverride '[ "$1" = --list ] && exit "${STATOVERRIDE_LISTED:-1}"; exit 0'
for command in groupadd useradd systemd-sysusers systemctl rm; do make_stub "$command" 'exit 0'; done
# PATH holds only the stand-ins: nothing the scripts call can reach this machine's users or dpkg.
# run_script [VAR=VALUE...] SCRIPT ARGUMENT: runs it; what it called is then in $calls.
run_script() {
  : >"$work/calls"
  env PATH="$stubs" "$@" || fail "$* exited $?"
  calls=$(cat "$work/calls")
}
run_script "$work/control/postinst" configure
grep -qx "systemd-sysusers /usr/lib/sysusers.d/gov.conf" <<<"$calls" || fail "postinst did not create the user: $calls"
grep -qx "dpkg-statoverride --update --add root gov 2755 /usr/bin/govrun" <<<"$calls" ||
  fail "postinst did not make govrun set-gid gov: $calls"
rm "$stubs/systemd-sysusers"
run_script "$work/control/postinst" configure
grep -qx "groupadd --system gov" <<<"$calls" || fail "postinst without systemd-sysusers: no groupadd: $calls"
grep -q "^useradd --system --gid gov " <<<"$calls" || fail "postinst without systemd-sysusers: no useradd: $calls"
run_script STATOVERRIDE_LISTED=0 "$work/control/postinst" configure
grep -q -- "--add" <<<"$calls" && fail "postinst replaced an existing statoverride of govrun"
run_script STATOVERRIDE_LISTED=0 "$work/control/postrm" purge
grep -qx "dpkg-statoverride --remove /usr/bin/govrun" <<<"$calls" || fail "postrm purge kept the statoverride: $calls"
grep -qE "userdel|groupdel|rm .*/var/lib/gov" "$work/control/postrm" && fail "postrm deletes the lineage or the user"
run_script "$work/control/prerm" remove

step "apt-get install, use and purge, in an overlay of this root"
status=0
"$source_dir/tests/packaging/install_in_overlay.sh" "$deb" || status=$?
case $status in
  0) ;;
  77) echo "(skipped: the real installation needs root, unshare and overlayfs)" ;;
  *) fail "installing and purging the package" ;;
esac

[ "$failures" -eq 0 ] || { echo "$failures package checks failed"; exit 1; }
echo "package checks passed"

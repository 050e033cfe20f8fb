#!/usr/bin/env bash
# Checks the man pages in MAN_DIR (*.N.gz, as the build writes and the package
# installs them): each formats with `groff -man -ww` without a warning, has a
# NAME section (lexgrog), and shows its tool's own `--help` text, the tool
# taken from BIN_DIR (one folder, or several joined by ':').
#   man_pages_test.sh MAN_DIR BIN_DIR
set -euo pipefail
man_dir=$1
bin_path=$2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pages=0
while IFS= read -r -d '' page; do
  pages=$((pages + 1))
  name=$(basename "$page" .gz)
  tool=${name%.*}
  warnings=$(zcat "$page" | groff -man -Tutf8 -ww -z 2>&1)
  [ -z "$warnings" ] || fail "$name: groff warns: $warnings"
  lexgrog "$page" >/dev/null || fail "$name: lexgrog finds no NAME section"
  # Every line of the tool's --help is on the page (man indents them; compare without spaces).
  rendered=$(MANWIDTH=250 man -l "$page" 2>/dev/null | tr -d ' \t')
  missing=0
  while IFS= read -r line; do
    squeezed=$(tr -d ' \t' <<<"$line")
    [ -z "$squeezed" ] || grep -qF -- "$squeezed" <<<"$rendered" || missing=$((missing + 1))
  done < <(PATH="$bin_path" "$tool" --help 2>&1)
  [ "$missing" -eq 0 ] || fail "$name: $missing lines of \`$tool --help\` are not on the page"
done < <(find "$man_dir" -name '*.[18].gz' -print0)
[ "$pages" -eq 5 ] || fail "found $pages man pages in $man_dir, not 5"
[ "$failures" -eq 0 ] || { echo "$failures man page checks failed"; exit 1; }
echo "$pages man pages checked"

#!/usr/bin/env bash
# Runs the govc commands of the CI examples exactly as written there — read
# with a YAML parser (ci_commands.py): the `run:` lines of the GitHub workflow's
# steps, the `script:` lines of the GitLab job, the `entry:` of each hook in
# .pre-commit-hooks.yaml — on a policy folder, with the build's govc first on
# PATH; validates the SARIF
# `govc lint --format sarif` writes — for clean policies and for policies with
# findings — against the SARIF 2.1.0 JSON schema (from build/node, installed by
# ./gov.sh deps), and checks the JUnit report is well-formed XML.
#   ci_examples_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
modules=$source_dir/build/node/node_modules
schema=$modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json
[ -f "$schema" ] || { echo "FAIL: no SARIF schema at $schema (./gov.sh deps installs it)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$build/cli:$PATH" NO_COLOR=1 POLICY_DIR=policies
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

validate_sarif() {
  NODE_PATH=$modules node "$source_dir/tests/node/validate_json_schema.js" "$schema" "$1" || fail "$1 is not valid SARIF 2.1.0"
}

commands=$source_dir/tests/ci/ci_commands.py

# run_commands github|gitlab FILE: runs each govc command of FILE, in a fresh copy of the examples.
run_commands() {
  local kind=$1 file=$2 dir command count=0 listed
  dir=$work/$(basename "$file")
  mkdir -p "$dir/policies"
  cp "$source_dir"/examples/*.gov "$dir/policies/"
  cp -r "$source_dir"/examples/org "$dir/policies/"
  listed=$(python3 "$commands" "$kind" "$file") || { fail "$file: not the YAML expected"; return; }
  while IFS= read -r command; do
    count=$((count + 1))
    echo "--- $(basename "$file"): $command"
    (cd "$dir" && sh -c "$command") || fail "$(basename "$file"): \`$command\` exited $?"
  done <<<"$listed"
  for needed in "govc fmt --check" "govc lint --format sarif" "govc test --coverage-min 100%"; do
    grep -qF -- "$needed" <<<"$listed" || fail "$(basename "$file") does not run \`$needed\`"
  done
  [ "$count" -ge 3 ] || fail "$(basename "$file"): found only $count govc commands"
  [ -s "$dir/govc.sarif" ] && validate_sarif "$dir/govc.sarif"
}

run_commands github "$source_dir/examples/ci/github-actions.yml"
run_commands gitlab "$source_dir/examples/ci/gitlab-ci.yml"
python3 -c 'import sys, xml.etree.ElementTree as e; e.parse(sys.argv[1])' "$work/gitlab-ci.yml/govc-junit.xml" ||
  fail "govc-junit.xml is not well-formed XML"

echo "--- SARIF of policies with findings (errors and warnings)"
status=0
govc lint --format sarif "$source_dir/tests/golden/lint" >"$work/findings.sarif" || status=$?
[ "$status" -eq 1 ] || fail "govc lint on tests/golden/lint exited $status, not 1"
results=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$work/findings.sarif")
[ "$results" -gt 0 ] || fail "no results in the SARIF of tests/golden/lint"
validate_sarif "$work/findings.sarif"

echo "--- .pre-commit-hooks.yaml"
hooks=$source_dir/.pre-commit-hooks.yaml
mkdir -p "$work/hooks"
cp "$source_dir/examples/agent.gov" "$work/hooks/formatted.gov"
# The same policy, badly laid out: a blank line too many after its header.
awk '/^policy /{print; print ""; next} {print}' "$source_dir/examples/agent.gov" >"$work/hooks/ragged.gov"
cmp -s "$work/hooks/ragged.gov" "$work/hooks/formatted.gov" && fail "the ragged copy is not ragged"
entry() { python3 "$commands" pre-commit "$hooks" | sed -n "s/^$1\t//p"; }
if [ -z "$(entry govc-fmt)" ] || [ -z "$(entry govc-lint)" ]; then fail "hooks govc-fmt and govc-lint not found"; fi
# pre-commit appends the staged file names to the entry.
(cd "$work/hooks" && $(entry govc-fmt) formatted.gov ragged.gov) || fail "hook govc-fmt exited $?"
cmp -s "$work/hooks/ragged.gov" "$work/hooks/formatted.gov" || fail "hook govc-fmt did not rewrite ragged.gov"
(cd "$work/hooks" && $(entry govc-lint) formatted.gov) || fail "hook govc-lint failed on a clean policy"
# Errors stop the commit; warnings are shown (unless gov.toml makes them errors).
if (cd "$work" && $(entry govc-lint) "$source_dir/tests/golden/check/2003_unknown_name.gov" >/dev/null 2>&1); then
  fail "hook govc-lint passed a policy with an error"
fi

[ "$failures" -eq 0 ] || { echo "$failures CI example checks failed"; exit 1; }
echo "CI example checks passed"

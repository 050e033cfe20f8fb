#!/usr/bin/env bash
# The gov showcase (`./gov.sh demo`): what the policy front end does today.
# Usage: examples/demo.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
govc=$build/cli/govc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1;36m## %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; echo "(exit $?)"; }

step "1. The agent policy type-checks (examples/agent.gov)"
run "$govc" check examples/agent.gov

step "2. A policy with mistakes: every error in one run, with carets, notes and help"
cat > "$work/mistakes.gov" <<'POLICY'
policy mistakes version "1.0.0"

const workspace: path = "/work/repo"

allow git_status when
    program.path == "/usr/bin/git" and args == "status"

deny wipe when
    program.name == "rm" and any a in args: (cwd / a) under workspce
    because "deletes the workspace"

allow build when
    program.path == "/usr/bin/make" with { timeout = 10, network = nowhere }
POLICY
(cd "$work" && run "$OLDPWD/$govc" check mistakes.gov)

step "3. Lint: likely mistakes in a policy that type-checks"
run "$govc" lint examples/agent.gov

step "4. The same findings as SARIF for code scanning (first lines)"
"$govc" lint --format sarif examples/agent.gov | head -n 12
echo "  ..."

step "5. Canonical formatting (comments kept): what \`govc fmt\` would change in the agent policy"
"$govc" fmt --stdout examples/agent.gov | diff -u examples/agent.gov - | tail -n +3
run "$govc" fmt --check stdlib/

printf '\nNext: docs/language.md (the language), docs/diagnostics.md (every code), docs/lint.md.\n'

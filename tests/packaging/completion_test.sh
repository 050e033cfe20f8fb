#!/usr/bin/env bash
# Runs the shell completions for real: sources packaging/completions/<shell>
# in that shell and asks for completions of a few command lines, in a folder
# with one file of each type the completions filter on.
#   completion_test.sh bash|zsh|fish COMPLETIONS_DIR
# Exit 77 (skipped) when zsh or fish is not installed (./gov.sh test installs them).
set -euo pipefail
shell=$1
completions=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir policies
touch agent.gov gov.toml ops.key ops.pub agent.govb req.json notes.txt

failures=0
# expect LABEL ACTUAL WORD... : each WORD is a line of ACTUAL
expect() {
  local label=$1 actual=$2 word
  shift 2
  for word in "$@"; do
    if ! grep -qxF -- "$word" <<<"$actual"; then
      echo "FAIL $label: no \`$word\` in:"; printf '%s\n' "$actual" | sed 's/^/    /'
      failures=$((failures + 1))
    fi
  done
}
# refuse LABEL ACTUAL WORD... : no WORD is a line of ACTUAL
refuse() {
  local label=$1 actual=$2 word
  shift 2
  for word in "$@"; do
    if grep -qxF -- "$word" <<<"$actual"; then
      echo "FAIL $label: \`$word\` should not be offered"; failures=$((failures + 1))
    fi
  done
}

case $shell in
  bash)
    # COMP_WORDS/COMP_CWORD as bash sets them; the last word is the one completed.
    complete_bash() {
      local tool=$1
      shift
      bash --norc --noprofile -c '
        set -u
        source "$1/bash/$2"
        shift 2
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        "_$1"
        printf "%s\n" "${COMPREPLY[@]}" | sort -u' _ "$completions" "$tool" "$tool" "$@"
    }
    out=$(complete_bash govc "")
    expect "govc <TAB>" "$out" check fmt lint keygen build eval test
    out=$(complete_bash govc help "")
    expect "govc help <TAB>" "$out" check lint test
    out=$(complete_bash govc lint --format "")
    expect "govc lint --format <TAB>" "$out" text json sarif
    out=$(complete_bash govc check "")
    expect "govc check <TAB>" "$out" agent.gov policies
    refuse "govc check <TAB>" "$out" notes.txt gov.toml
    out=$(complete_bash govc lint --config "")
    expect "govc lint --config <TAB>" "$out" gov.toml
    refuse "govc lint --config <TAB>" "$out" agent.gov
    out=$(complete_bash govc build --)
    expect "govc build --<TAB>" "$out" --key --output --no-native --opt-level --skip-tests
    refuse "govc build --<TAB>" "$out" --format --check
    out=$(complete_bash govc build agent.gov --key "")
    expect "govc build --key <TAB>" "$out" ops.key
    refuse "govc build --key <TAB>" "$out" ops.pub
    out=$(complete_bash govc eval --bundle agent.govb --trust "")
    expect "govc eval --trust <TAB>" "$out" ops.pub
    out=$(complete_bash govc eval --request "")
    expect "govc eval --request <TAB>" "$out" req.json
    out=$(complete_bash govrun --config "")
    expect "govrun --config <TAB>" "$out" gov.toml
    out=$(complete_bash govrun --session-mechanism "")
    expect "govrun --session-mechanism <TAB>" "$out" kernel ptrace auto
    out=$(complete_bash govrun --explain -- ba)
    expect "govrun -- ba<TAB>" "$out" bash
    out=$(complete_bash govrun hook "")
    expect "govrun hook <TAB>" "$out" claude-code
    out=$(complete_bash govverify "")
    expect "govverify <TAB>" "$out" list show export note-key
    out=$(complete_bash govverify --policy "")
    expect "govverify --policy <TAB>" "$out" agent.govb
    out=$(complete_bash govverify list --verdict "")
    expect "govverify list --verdict <TAB>" "$out" allow deny ask
    out=$(complete_bash govd approvals "")
    expect "govd approvals <TAB>" "$out" list approve refuse
    out=$(complete_bash govd witness --)
    expect "govd witness --<TAB>" "$out" --name --key --log-key --state
    out=$(complete_bash govconsole --)
    expect "govconsole --<TAB>" "$out" --lineage --listen --token-file
    ;;
  fish)
    command -v fish >/dev/null || { echo "SKIP: fish is not installed"; exit 77; }
    complete_fish() {
      # No user configuration (a temporary HOME), the system's completions for other commands.
      HOME=$work XDG_CONFIG_HOME=$work/.config XDG_DATA_HOME=$work/.local/share \
        fish -c "source '$completions/fish/$1.fish'; complete -C '$2'" | cut -f1 | sort -u
    }
    out=$(complete_fish govc "govc ")
    expect "govc <TAB>" "$out" check fmt lint keygen build eval test
    out=$(complete_fish govc "govc help ")
    expect "govc help <TAB>" "$out" check lint test
    out=$(complete_fish govc "govc lint --format ")
    expect "govc lint --format <TAB>" "$out" text json sarif
    out=$(complete_fish govc "govc check ")
    expect "govc check <TAB>" "$out" agent.gov policies/
    out=$(complete_fish govc "govc build --")
    expect "govc build --<TAB>" "$out" --key --output --no-native --opt-level --skip-tests
    out=$(complete_fish govrun "govrun --session-mechanism ")
    expect "govrun --session-mechanism <TAB>" "$out" kernel ptrace auto
    out=$(complete_fish govrun "govrun --explain -- gi")
    expect "govrun -- gi<TAB>" "$out" git
    out=$(complete_fish govrun "govrun -- git sta")
    expect "govrun -- git sta<TAB> (git's own completion)" "$out" status
    out=$(complete_fish govverify "govverify ")
    expect "govverify <TAB>" "$out" list show export note-key
    out=$(complete_fish govd "govd approvals ")
    expect "govd approvals <TAB>" "$out" list approve refuse
    out=$(complete_fish govconsole "govconsole --")
    expect "govconsole --<TAB>" "$out" --lineage --listen --token-file
    ;;
  zsh)
    command -v zsh >/dev/null || { echo "SKIP: zsh is not installed"; exit 77; }
    # Each file parses, compinit registers it, and zsh's line editor completes with it.
    for tool in govc govrun govverify govd govconsole; do
      zsh -n "$completions/zsh/_$tool" || { echo "FAIL: _$tool does not parse"; failures=$((failures + 1)); }
    done
    registered=$(zsh -fc "fpath=('$completions/zsh' \$fpath); autoload -Uz compinit; compinit -u -D
      for tool in govc govrun govverify govd govconsole; do print -r -- \${_comps[\$tool]-}; done")
    expect "compinit" "$registered" _govc _govrun _govverify _govd _govconsole
    complete_zsh() { timeout 60 zsh -f "$here/zsh_complete.zsh" "$completions/zsh" "$1"; }
    out=$(complete_zsh "govc ")
    expect "govc <TAB>" "$out" check fmt lint keygen build eval test help
    out=$(complete_zsh "govc lint --format ")
    expect "govc lint --format <TAB>" "$out" text json sarif
    out=$(complete_zsh "govc check ")
    expect "govc check <TAB>" "$out" agent.gov
    refuse "govc check <TAB>" "$out" notes.txt gov.toml
    out=$(complete_zsh "govc lint --config ")
    expect "govc lint --config <TAB>" "$out" gov.toml
    out=$(complete_zsh "govc eval --trust ")
    expect "govc eval --trust <TAB>" "$out" ops.pub
    refuse "govc eval --trust <TAB>" "$out" ops.key
    out=$(complete_zsh "govrun --session-mechanism ")
    expect "govrun --session-mechanism <TAB>" "$out" kernel ptrace auto
    out=$(complete_zsh "govrun -- ba")
    expect "govrun -- ba<TAB>" "$out" bash
    out=$(complete_zsh "govrun hook ")
    expect "govrun hook <TAB>" "$out" claude-code
    out=$(complete_zsh "govverify ")
    expect "govverify <TAB>" "$out" list show export note-key
    out=$(complete_zsh "govverify list --verdict ")
    expect "govverify list --verdict <TAB>" "$out" allow deny ask
    out=$(complete_zsh "govd approvals ")
    expect "govd approvals <TAB>" "$out" list approve refuse
    out=$(complete_zsh "govconsole --")
    expect "govconsole --<TAB>" "$out" --lineage --listen --token-file
    ;;
  *) echo "usage: completion_test.sh bash|zsh|fish COMPLETIONS_DIR" >&2; exit 2 ;;
esac
[ "$failures" -eq 0 ] || { echo "$failures completion checks failed"; exit 1; }
echo "$shell completions: all checks passed"

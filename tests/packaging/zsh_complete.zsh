# Prints the completions zsh offers for a command line, one per line:
#   zsh -f zsh_complete.zsh COMPLETION_DIR 'govc lint --format '
# zsh completes only inside its line editor, so this starts an interactive zsh
# on a pseudo-terminal (zsh/zpty) with COMPLETION_DIR first on fpath, wraps
# compadd to print every match it adds with a marker, types the line and TAB,
# and collects the marked lines.
zmodload zsh/zpty || exit 2
zpty completing zsh -f -i
zpty -w completing "PROMPT=''; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w completing "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w completing 'compadd() { local -a matches; builtin compadd -O matches "$@"; print -rl -- "<match>"${^matches}; builtin compadd "$@" }'
# Each marker is split in the command typed, so only the command's output matches it.
zpty -w completing "print '<rea''dy>'"
zpty -r completing ignored '*<ready>*' || exit 2
zpty -w -n completing "$2"$'\t'
zpty -w completing $'\C-u'"print '<do''ne>'"
zpty -r completing output '*<done>*' || exit 2
zpty -d completing
print -r -- "$output" | tr -d '\r' | grep -ao '<match>[^[:cntrl:] ]*' | sed 's/^<match>//' | sort -u

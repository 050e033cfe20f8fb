# Prints the completions zsh offers for a command line, one per line:
#   zsh -f zsh_complete.zsh COMPLETION_DIR 'govc lint --format '
# zsh completes only inside its line editor, so this starts an interactive zsh
# on a pseudo-terminal (zsh/zpty) with COMPLETION_DIR first on fpath, wraps
# compadd to print every match it adds with a marker, types the line and TAB,
# and collects the marked lines. TAB runs completion and then prints a marker,
# and nothing more is typed until that marker arrives: keys typed ahead of a
# completion on a busy machine once left it without output.
zmodload zsh/zpty || exit 2
zpty completing zsh -f -i
zpty -w completing "PROMPT=''; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w completing "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w completing 'compadd() { local -a matches; builtin compadd -O matches "$@"; print -rl -- "<match>"${^matches}; builtin compadd "$@" }'
# Each marker is split in the command typed, so only the command's output matches it.
zpty -w completing 'complete-then-mark() { zle expand-or-complete; print -n "<comp""leted>" }; zle -N complete-then-mark; bindkey "^I" complete-then-mark'
zpty -w completing "print '<rea''dy>'"
zpty -r completing ignored '*<ready>*' || exit 2
zpty -w -n completing "$2"$'\t'
zpty -r completing completed '*<completed>*' || exit 2
zpty -w completing $'\C-u'"print '<do''ne>'"
zpty -r completing ignored '*<done>*' || exit 2
zpty -d completing
print -r -- "$completed" | tr -d '\r' | grep -ao '<match>[^[:cntrl:] ]*' | sed 's/^<match>//' | sort -u

# fish completion for govrun (run a command under the signed policy): options,
# `.toml` for --config, the lineage bundle --bundle writes, then the governed
# command and its own completion after `--`.
# tests/packaging/completion_test.sh checks it against `govrun --help`.

# True before the `--` that ends govrun's options.
function __govrun_before_command
    not contains -- -- (commandline -opc)
end

complete -c govrun -n __govrun_before_command -f
complete -c govrun -n __govrun_before_command -s h -l help -d 'Print help and exit'
complete -c govrun -n __govrun_before_command -l version -d 'Print the version and exit'
complete -c govrun -n __govrun_before_command -l config -r -a '(__fish_complete_suffix .toml)' -d 'Configuration file'
complete -c govrun -n __govrun_before_command -l context -x -d 'KEY=VALUE the policy declares'
complete -c govrun -n __govrun_before_command -l session -d 'Govern the whole process tree'
complete -c govrun -n __govrun_before_command -l session-mechanism -x -a 'kernel ptrace auto' -d 'How a session is governed'
complete -c govrun -n __govrun_before_command -l ask-terminal -r -d 'Ask a person on this terminal'
complete -c govrun -n __govrun_before_command -l explain -d 'Explain the decision on stderr'
complete -c govrun -n __govrun_before_command -l check -d 'Decide and explain; run nothing'
complete -c govrun -n __govrun_before_command -l format -x -a 'text json' -d 'The --check explanation'
complete -c govrun -n __govrun_before_command -l bundle -r -a '(__fish_complete_suffix .lineage)' -d 'Export the run lineage bundle'
complete -c govrun -n __govrun_before_command -l timings -d 'Print phase timings'
complete -c govrun -n "__govrun_before_command; and __fish_is_first_arg" -a hook -d 'Agent hook adapters'
complete -c govrun -n "__fish_seen_subcommand_from hook" -a claude-code -d 'Claude Code PreToolUse hook'
# After `--`: the governed command with its own completions.
function __govrun_governed_command
    set -l words (commandline -opc)
    set -l separator (contains -i -- -- $words)
    set -l command (string escape -- $words[(math $separator + 1)..-1])
    complete -C (string join ' ' -- $command (commandline -ct))
end
complete -c govrun -n 'not __govrun_before_command' -x -a '(__govrun_governed_command)'

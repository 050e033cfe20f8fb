# fish completion for govd (the lineage service): subcommands (witness,
# approvals), options, key files, directories, users and groups.
# tests/packaging/completion_test.sh checks it against `govd --help`.

set -l subcommands witness approvals
complete -c govd -f
complete -c govd -s h -l help -d 'Print help and exit'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -a witness -d 'Cosign other logs checkpoints'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -a approvals -d 'List or answer asks'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l lineage -x -a '(__fish_complete_directories)' -d 'The lineage log directory'
complete -c govd -n "not __fish_seen_subcommand_from approvals" -l key -r -a '(__fish_complete_suffix .key; __fish_complete_suffix .pem)' -d 'The signing key'
complete -c govd -n "not __fish_seen_subcommand_from witness" -l socket -r -d 'The socket'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l submitter-group -x -a '(__fish_complete_groups)' -d 'The group govrun is set-gid to'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l user -x -a '(__fish_complete_users)' -d 'The user to run as'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l metrics-file -r -F -d 'Where govd writes its own metrics'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l no-metrics -d 'Write no metrics file'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l approvals-socket -r -d 'Where approvers connect'
complete -c govd -n "not __fish_seen_subcommand_from $subcommands" -l approver -x -a '(__fish_complete_users)' -d 'A user who may answer asks'
complete -c govd -n "__fish_seen_subcommand_from witness" -l name -x -d 'The witness name'
complete -c govd -n "__fish_seen_subcommand_from witness" -l log-key -r -a '(__fish_complete_suffix .pub; __fish_complete_suffix .pem)' -d 'A witnessed lineage key'
complete -c govd -n "__fish_seen_subcommand_from witness" -l state -x -a '(__fish_complete_directories)' -d 'The witness directory'
complete -c govd -n "__fish_seen_subcommand_from witness" -a '(__fish_complete_directories)' -d 'Published lineage directory'
complete -c govd -n "__fish_seen_subcommand_from approvals" -l json -d 'List as JSON'
complete -c govd -n "__fish_seen_subcommand_from approvals; and not __fish_seen_subcommand_from list approve refuse" -a 'list approve refuse'

# fish completion for govverify (offline lineage verification): subcommands,
# options, `.pub` keys, `.govb` policies, lineage logs, directories and bundles.
# tests/packaging/completion_test.sh checks it against `govverify --help`.

set -l subcommands list show export note-key
function __govverify_keys
    __fish_complete_suffix .pub
    __fish_complete_suffix .pem
end

complete -c govverify -s h -l help -d 'Print help and exit'
complete -c govverify -l version -d 'Print the version and exit'
complete -c govverify -n "__fish_is_first_arg" -a "$subcommands" -d Subcommand
complete -c govverify -n "not __fish_seen_subcommand_from export note-key" -l lineage-key -r -a '(__govverify_keys)' -d 'Key trusted to sign checkpoints'
complete -c govverify -n "not __fish_seen_subcommand_from export note-key" -l policy-key -r -a '(__govverify_keys)' -d 'Key trusted to sign the policy'
complete -c govverify -n "not __fish_seen_subcommand_from export note-key" -l trust -r -a '(__govverify_keys)' -d 'Key trusted in both roles'
complete -c govverify -n "not __fish_seen_subcommand_from export note-key" -l format -x -a 'text json' -d 'Report format'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l policy -r -a '(__fish_complete_suffix .govb)' -d 'The policy bundle'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l replay -d 'Re-decide every recorded request'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l all-signatures -d 'Check every checkpoint signature'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l since -r -d 'The log must extend this checkpoint'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l witness -r -a '(__govverify_keys)' -d 'Witness key'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l save-checkpoint -r -d 'Save the checkpoint note'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l quiet -d 'Exit status only'
complete -c govverify -n "not __fish_seen_subcommand_from $subcommands" -l html -r -a '(__fish_complete_suffix .html)' -d 'Write the proof viewer'
complete -c govverify -n "__fish_seen_subcommand_from list" -l verdict -x -a 'allow deny ask' -d 'Only this verdict'
complete -c govverify -n "__fish_seen_subcommand_from list" -l program -x -d 'Only this program'
complete -c govverify -n "__fish_seen_subcommand_from list" -l user -x -a '(__fish_complete_users)' -d 'Only this user'
complete -c govverify -n "__fish_seen_subcommand_from list" -l rule -x -d 'Only runs this rule decided'
complete -c govverify -n "__fish_seen_subcommand_from list" -l exit -x -d 'Only this exit status'
complete -c govverify -n "__fish_seen_subcommand_from list" -l text -x -d 'Only records with this text'
complete -c govverify -n "__fish_seen_subcommand_from list" -l since -x -d 'From this time'
complete -c govverify -n "__fish_seen_subcommand_from list" -l until -x -d 'Up to this time'
complete -c govverify -n "__fish_seen_subcommand_from list" -l limit -x -d 'At most this many runs'
complete -c govverify -n "__fish_seen_subcommand_from export" -s o -r -a '(__fish_complete_suffix .lineage)' -d 'The lineage bundle to write'

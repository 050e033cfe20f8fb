# fish completion for govconsole (the live console): options, the lineage
# directory, `.pub` keys, the token file.
# tests/packaging/completion_test.sh checks it against `govconsole --help`.

complete -c govconsole -f
complete -c govconsole -s h -l help -d 'Print help and exit'
complete -c govconsole -l version -d 'Print the version and exit'
complete -c govconsole -l lineage -x -a '(__fish_complete_directories)' -d 'The lineage directory'
complete -c govconsole -l lineage-key -r -a '(__fish_complete_suffix .pub; __fish_complete_suffix .pem)' -d 'Key trusted to sign its checkpoints'
complete -c govconsole -l trust -r -a '(__fish_complete_suffix .pub; __fish_complete_suffix .pem)' -d 'Key trusted for checkpoints and policies'
complete -c govconsole -l policy-key -r -a '(__fish_complete_suffix .pub; __fish_complete_suffix .pem)' -d 'Key trusted to sign the --policy bundles'
complete -c govconsole -l policy -r -a '(__fish_complete_suffix .govb)' -d 'Policy bundle to show in Policies'
complete -c govconsole -l listen -x -a '127.0.0.1:8080' -d 'Loopback address and port'
complete -c govconsole -l socket -r -F -d 'Listen on this Unix socket instead'
complete -c govconsole -l token-file -r -F -d 'The bearer token file'
complete -c govconsole -l index -r -a '(__fish_complete_suffix .sqlite)' -d 'The index of the log (a cache)'
complete -c govconsole -l approvals-socket -r -F -d 'govd approvals socket'

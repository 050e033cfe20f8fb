# fish completion for govc (gov's policy compiler): subcommands, options and the
# files each takes (`.gov` policies, `.toml`, `.govb`, keys, `.json` requests).
# tests/packaging/completion_test.sh checks it against `govc --help`.

set -l subcommands check fmt lint keygen build eval bench diff test lsp help
# Files with these extensions, and folders.
function __govc_files
    for extension in $argv
        __fish_complete_suffix .$extension
    end
end

complete -c govc -f
complete -c govc -s h -l help -d 'Print help and exit'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -l version -d 'Print the version and exit'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a check -d 'Type-check policies'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a fmt -d 'Rewrite policies in the canonical layout'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a lint -d 'Report likely mistakes'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a keygen -d 'Create an Ed25519 key pair'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a build -d 'Compile a policy to a signed bundle'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a eval -d 'Decide one request'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a bench -d 'Measure a policy'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a diff -d 'Requests two versions of a policy decide differently'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a test -d 'Run every test block'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a lsp -d 'Run the language server for editors'
complete -c govc -n "not __fish_seen_subcommand_from $subcommands" -a help -d 'Print the help of a subcommand'
complete -c govc -n "__fish_seen_subcommand_from help; and not __fish_seen_subcommand_from check fmt lint keygen build eval bench diff test lsp" -a 'check fmt lint keygen build eval bench diff test lsp'
complete -c govc -l color -x -a 'auto always never' -d 'Colour diagnostics'
complete -c govc -n "__fish_seen_subcommand_from lsp" -l stdio -d 'Talk over stdin/stdout'

# Policy files and folders for every subcommand but keygen.
complete -c govc -n "__fish_seen_subcommand_from check fmt lint build eval bench test" -a '(__govc_files gov)'
complete -c govc -n "__fish_seen_subcommand_from diff" -a '(__govc_files gov govb)'
complete -c govc -n "__fish_seen_subcommand_from keygen" -F

complete -c govc -n "__fish_seen_subcommand_from check eval bench" -l format -x -a 'text json' -d 'Output format'
complete -c govc -n "__fish_seen_subcommand_from lint" -l format -x -a 'text json sarif' -d 'Output format'
complete -c govc -n "__fish_seen_subcommand_from test" -l format -x -a 'text json junit' -d 'Report format'
complete -c govc -n "__fish_seen_subcommand_from check" -l cost -d 'Also print the static cost per decision'
complete -c govc -n "__fish_seen_subcommand_from fmt" -l check -d 'Change nothing; exit 1 if not formatted'
complete -c govc -n "__fish_seen_subcommand_from fmt" -l stdout -d 'Print the formatted text'
complete -c govc -n "__fish_seen_subcommand_from lint" -l config -r -a '(__govc_files toml)' -d 'gov.toml with lint levels'
complete -c govc -n "__fish_seen_subcommand_from keygen" -l force -d 'Replace existing key files'
complete -c govc -n "__fish_seen_subcommand_from build" -l key -r -a '(__govc_files key pem)' -d 'Private key that signs the bundle'
complete -c govc -n "__fish_seen_subcommand_from build" -s o -l output -r -a '(__govc_files govb)' -d 'The bundle file to write'
complete -c govc -n "__fish_seen_subcommand_from build" -l no-native -d 'Ship only the IR'
complete -c govc -n "__fish_seen_subcommand_from build" -l cpu -x -a host -d 'Target CPU'
complete -c govc -n "__fish_seen_subcommand_from build" -s O -l opt-level -x -a '0 1 2' -d 'Optimization level'
complete -c govc -n "__fish_seen_subcommand_from build" -l emit-llvm -r -a '(__govc_files ll)' -d 'Also write the LLVM IR'
complete -c govc -n "__fish_seen_subcommand_from build" -l skip-tests -d 'Build even when the tests fail'
complete -c govc -n "__fish_seen_subcommand_from eval bench" -l bundle -r -a '(__govc_files govb)' -d 'A signed bundle'
complete -c govc -n "__fish_seen_subcommand_from eval bench" -l trust -r -a '(__govc_files pub pem)' -d 'Public key trusted to sign --bundle'
complete -c govc -n "__fish_seen_subcommand_from eval" -l request -r -a '(__govc_files json)' -d 'The request, as JSON'
complete -c govc -n "__fish_seen_subcommand_from bench" -l requests -r -a '(__govc_files jsonl)' -d 'Requests to decide, one per line'
complete -c govc -n "__fish_seen_subcommand_from bench" -l rounds -x -d 'Timed batches of decisions'
complete -c govc -n "__fish_seen_subcommand_from bench" -l per-rule -d 'Also what each rule costs, compiled alone'
complete -c govc -n "__fish_seen_subcommand_from diff" -l trust -r -a '(__govc_files pub pem)' -d 'Public key trusted to sign bundles'
complete -c govc -n "__fish_seen_subcommand_from diff" -l format -x -a 'text json markdown' -d 'Output format'
complete -c govc -n "__fish_seen_subcommand_from diff" -l max-classes -x -d 'Stop after this many classes'
complete -c govc -n "__fish_seen_subcommand_from eval test" -l interp -d 'Use the IR interpreter'
complete -c govc -n "__fish_seen_subcommand_from test" -l coverage-min -x -a '100%' -d 'Least rule coverage'
complete -c govc -n "__fish_seen_subcommand_from test" -l filter -x -d 'Only test blocks whose name contains this'

#!/usr/bin/env python3
"""The standard library's argument grammars against the programs they describe.

For every case, the real program says whether it accepts the options: it runs
with `--help` appended, in an empty directory, and a GNU program reads all its
options before it acts, so it exits 0 (printing its help, doing nothing) when
every option before `--help` is one it knows with a value it takes, and
fails with a usage error otherwise. The grammar says the same through a
generated policy (`shell.PROG(args) != none`) under `govc test`, natively and
interpreted. Any disagreement fails: a grammar that refuses what the program
accepts makes the functions unsure (a false alarm), one that accepts what the
program refuses may read an option the program does not have.

Cases after `--` are left out (`--help` would be an operand there), and so
are the programs' documented quirks the grammars do not model (make's `-j 4`
reads `4` as a target in the grammar; gawk stops at its first operand, so
`--help` after the program text is not an option).

git's subcommands are parse-options programs: `git SUB ARGS -h` prints the usage on standard
output and nothing on standard error when every option before `-h` is one SUB knows (an unknown
or ambiguous option is an error on standard error; operands are not checked, and no case has
one after `--`, where `-h` is an operand). git's own options are checked by running
`git OPTIONS version`, which exits 0 when git accepts them; git reads those exactly as spelled,
so the abbreviations and clusters the grammar also reads are listed as known differences.

curl is checked the same way as the GNU programs: `curl -q --proto -all ARGS --help`, in an empty
directory. curl reads its arguments in order, acting on each option as it reads it, and stops at
`--help`: it prints the help and exits 0, without a transfer and so without the network, when every
option before it is one it knows with a value it takes. An unknown option, an ambiguous
abbreviation, `--no-` before an option that is not boolean, a missing value, a value curl cannot
convert, or an option this build lacks is an error before `--help` (exit 2; 1 for an unknown
protocol, 26 for a config file curl cannot read). An option that takes a value takes `--help` as
its value, and curl then finds no URL (exit 2), as the grammar refuses the option without a value.
`-q` first keeps curl from reading a ~/.curlrc; `--proto -all` allows no protocol, so the one
transfer a case can start (`--url --help` makes `--help` a URL) fails before curl resolves a name.
Options curl acts on while reading (`--stderr FILE` opens FILE, `-K FILE` reads it) do so in the
empty directory. Besides the listed cases, every spelling of `curl --help all` and of the grammar
is a case (curl_generated_cases), and every spelling curl accepts must be declared as written: an
abbreviation of a longer option would otherwise parse in its place and hide the omission.

Wrappers are checked by what they run: each case runs the wrapper for real
with a probe program (PROBE below) that records the arguments it got, and
`shell.wrapped_program` and `shell.wrapped_arguments` must name exactly the
probe and those arguments — or `none` where the wrapper runs nothing, and in
the cases listed as unsure (never another program or other arguments).

  grammar_conformance.py GOVC
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

from conformance import all_cases_pass, gov_list, gov_string

# (program, arguments): accepted or refused, as the program itself decides.
CASES = {
    "sed": [
        ["-n", "1p"], ["--sandbox", "-n", "1p"], ["-n", "1p", "f", "--sandbox"], ["--sand", "1p"],
        ["-i.bak", "s/a/b/"], ["--in-place=.bak", "s/a/b/"], ["-i", "s/a/b/"], ["-l", "5", "p"], ["-l5", "p"],
        ["--line-length=x", "p"], ["-e", "p", "-e", "p"], ["--expr=p"], ["-nE", "p"], ["-sz", "p"],
        ["--no-such-option", "p"], ["-x", "p"], ["-e"], ["--s", "p"], ["--debug", "--posix", "p"],
        ["--follow-symlinks", "-u", "p"], ["-b", "p"], ["--null-data", "--separate", "p"],
    ],
    "rm": [
        ["-rf", "x"], ["x", "-R"], ["--recu", "x"], ["--rec", "x"], ["--r", "x"], ["-d", "x"],
        ["--interactive=never", "x"], ["--interactive", "x"], ["-I", "x"], ["--no-preserve-root", "x"],
        ["--preserve-root=all", "x"], ["--one-file-system", "x"], ["-x", "x"], ["--no-such-option", "x"],
        ["--force=x", "x"], ["-vfi", "x"], ["--dir", "x"], ["--pre", "x"], ["--no", "x"],
    ],
    "sort": [
        ["-u", "f"], ["f", "--com=./z"], ["--compress-program", "./z", "f"], ["-k2,2n", "-t:", "f"],
        ["-k", "2", "f"], ["-S", "1M", "f"], ["--parallel=2", "f"], ["--batch-size=4", "f"], ["-y", "f"],
        ["-o", "out", "f"], ["--check=quiet", "f"], ["-c", "f"], ["-C", "f"], ["--c", "f"], ["--no-such", "f"],
        ["-Q", "f"], ["--random-source=/dev/null", "f"], ["--sort=month", "f"], ["-T", "/tmp", "f"],
        ["--files0-from=x"], ["-z", "-s", "-m", "f"], ["--debug", "f"], ["-gMhnRrVbdfi", "f"],
    ],
    "tar": [
        ["-xzf", "a.tgz"], ["-cf", "a.tar", "d"], ["-xf", "a.tar", "--to-com=sh"], ["-xIsh", "-f", "a.tar"],
        ["--checkpoint-act=exec=sh", "-cf", "a.tar", "d"], ["--checkpoint", "-cf", "a.tar", "d"],
        ["--checkpoint=10", "-cf", "a.tar", "d"], ["-c", "--no-such-option", "d"], ["-cf"], ["-C", "/tmp", "-x"],
        ["--exclude=*.o", "-cf", "a.tar", "d"], ["--strip-components=1", "-x"], ["-tvf", "a.tar"],
        ["--use-compress-program=zstd", "-c"], ["--zstd", "-c"], ["--sort=name", "-c"], ["-x", "--to"],
        ["--transform", "s/a/b/", "-c"], ["--xform=s/a/b/", "-c"], ["--one-top-level", "-x"],
        ["--one-top-level=dir", "-x"], ["--backup", "-x"], ["--backup=numbered", "-x"], ["-Q", "-x"],
        ["--owner=root", "--group=root", "--mode=go-w", "-c"], ["--mtime=2020-01-01", "-c"],
    ],
    "cp": [
        ["a", "b"], ["-t", "/tmp", "a"], ["--target=/tmp", "a"], ["-rt/tmp", "a"], ["-a", "-S", ".bak", "a", "b"],
        ["--backup", "a", "b"], ["--backup=numbered", "a", "b"], ["--preserve=mode", "a", "b"], ["--pre", "a", "b"],
        ["--reflink", "a", "b"], ["--reflink=auto", "a", "b"], ["--sparse=never", "a", "b"], ["-dHLPp", "a", "b"],
        ["--no-such-option", "a", "b"], ["-X", "a", "b"], ["--debug", "a", "b"], ["-Z", "a", "b"],
        ["--context", "a", "b"], ["--parents", "--attributes-only", "a", "b"], ["-t"],
    ],
    "mv": [
        ["a", "b"], ["-t", "/tmp", "a"], ["--target=/tmp", "a"], ["-finuv", "a", "b"], ["-T", "a", "b"],
        ["--backup=simple", "-S", "~", "a", "b"], ["--strip-trailing-slashes", "a", "b"], ["-Z", "a", "b"],
        ["--context", "a", "b"], ["-r", "a", "b"], ["--no-such-option", "a", "b"], ["--exchange", "a", "b"],
    ],
    "ln": [
        ["-s", "a", "b"], ["-sf", "a", "b"], ["-t", "/tmp", "a"], ["--target=/tmp", "a"], ["-st/tmp", "a"],
        ["-sT", "a", "b"], ["--backup", "a", "b"], ["--backup=numbered", "a", "b"], ["-b", "-S", "~", "a", "b"],
        ["-dFinLPrv", "a", "b"], ["--relative", "--symbolic", "a", "b"], ["--sym", "a", "b"], ["-x", "a", "b"],
        ["--no-such-option", "a", "b"], ["--no-dereference", "a", "b"], ["-t"], ["--log", "a", "b"],
    ],
    "patch": [
        ["-p1"], ["-p", "1"], ["--strip=1"], ["-px"], ["-F", "3"], ["--fuzz=x"], ["-i", "a.diff"], ["-o", "-"],
        ["--output=x"], ["-r", "-"], ["-R", "-N", "-l", "-E", "-Z", "-T", "-t", "-f", "-s"], ["-cenu"],
        ["--merge"], ["--merge=diff3"], ["--merge", "x"], ["-D", "X"], ["--ifdef=X"], ["--quoting-style=c"],
        ["-b", "-V", "simple", "-B", "p", "-Y", "q", "-z", "s"], ["--backup-if-mismatch"], ["-g", "1"],
        ["--get=x"], ["--verbose", "--dry-run", "--posix", "--binary"], ["-d", "/tmp"], ["--reject-format=unified"],
        ["--read-only=fail"], ["--follow-symlinks"], ["-x", "1"], ["--debug=1"], ["--use-index-line"], ["-y"],
        ["--no-such-option"], ["--sil"], ["--fo"], ["a.c", "a.diff"],
    ],
    "make": [
        ["all"], ["-j4", "all"], ["--jobs=4"], ["--jobs"], ["-j"], ["-C", "/tmp"], ["-Cdir"], ["--eval=x:"],
        ["--ev=x:"], ["-E", "x:"], ["-sE", "x:"], ["-f", "Makefile"], ["--makefile=M"], ["--debug"],
        ["--debug=basic"], ["-d"], ["-O"], ["-Oline"], ["--output-sync=target"], ["-l"], ["-l2"],
        ["--load-average=2"], ["--max-load=2"], ["-W", "x"], ["--what-if=x"], ["--no-such-option"],
        ["-X"], ["--no-print-directory", "-w"], ["--trace", "--warn-undefined-variables"], ["-bm"],
        ["--no-silent", "-s"], ["--recon", "-n"], ["-S", "-k"], ["--no-keep-going"], ["CC=clang", "all"],
        ["--ver"], ["--e=x:"],
    ],
}

# curl's command lines (curl 7.88.1): abbreviations, clusters, negations, the table's hidden names.
CURL_CASES = [
    ["--outp", "x"], ["--output-d", "x"], ["--output-dir", "x"], ["--output", "x", "u"], ["u", "--output", "x"],
    ["-sSo", "x", "u"], ["-ofile"], ["-sSLo", "x"], ["-sSd@x", "u"], ["-qsS"], ["-o"], ["-so"], ["--kr", "x"],
    ["--krb", "x"], ["--krb4", "x"], ["--ftp-ss"], ["--ftp-ssl"], ["--no-ftp-ssl"], ["--ftp-ssl-reqd"], ["--ssl"],
    ["--epsv"], ["--no-epsv"], ["--eprt"], ["--no-eprt"], ["--test-event"], ["--buffer"], ["--no-buffer"], ["-N"],
    ["--no-progress-meter"], ["--progress-meter"], ["--no-output", "x"], ["--no-http1.0"], ["--http1.0"], ["-0"],
    ["-*", "x"], ["-$"], ["-s$"], ["-:"], ["-#"], ["--next"], ["--no-such-option"], ["-W"], ["-%"], ["--no-"],
    ["--no-keepalive"], ["--keepalive"], ["--no-clobber"], ["--clobber"], ["--noproxy", "x"], ["--nop", "x"],
    ["--data-urlencode", "q@x"], ["-F", "f=@x"], ["-F", "f"], ["-K", "/dev/null"], ["-T", "x", "u"], ["-:", "-:"],
    ["--remote-name-all"], ["--remote-name"], ["-OJ"], ["--dump-h", "x"], ["--trace-a", "x"], ["--tr", "x"],
    ["--trace-time"], ["--no-trace-time"], ["--max-time", "x"], ["-"], ["--output=x"], ["--no-buf"], ["--no", "x"],
    ["--OUTPUT", "x"], ["--Verbose"], ["--no-VERBOSE"], ["--DISABLE"],
]

# What curl refuses that the grammar reads (harmless: curl then runs nothing): the options this build
# lacks (c-ares, HTTP/3, Metalink), `--name=value`, `-` alone (an unknown option to curl, a URL to
# the grammar), a value curl cannot convert (`-F f` has no `=`), and an abbreviated negation
# (`--no-buf`; also every generated `--no-NAME` of an option that is not boolean, such as
# `--no-trace`, that abbreviates one negation the grammar declares, `--no-trace-time`): curl
# compares the name after `--no-` in full.
CURL_UNSUPPORTED = {"--dns-ipv4-addr", "--dns-ipv6-addr", "--dns-interface", "--dns-servers", "--http3",
                    "--http3-only", "--metalink", "--no-metalink"}
CURL_KNOWN_DIFFERENCES = {
    ("--output=x",), ("--no-buf",), ("-",), ("--max-time", "x"), ("-F", "f"),
}

# What curl accepts that the grammar refuses (the functions are then unsure): long names in another
# case (curl compares them in any case), and `--no` (curl's `--noproxy`: the grammar's `--no-`
# negations make it ambiguous).
CURL_KNOWN_REFUSALS = {
    ("--OUTPUT", "x"), ("--Verbose",), ("--no-VERBOSE",), ("--DISABLE",), ("--no", "x"),
}

# A value curl's parser takes for an option (`1` for the others).
CURL_VALUES = {"--form": "a=b", "--form-string": "a=b", "--tls-max": "1.2", "--hostpubmd5": "0" * 32,
               "--proto-default": "https", "--tlsauthtype": "SRP", "--proxy-tlsauthtype": "SRP",
               "--config": "/dev/null"}

# git's subcommands with grammars in std.git (`git.git(args)` chooses `SUB`): the arguments after SUB.
GIT_CASES = {
    "push": [
        ["--mir"], ["--force"], ["-fu", "origin"], ["--for"], ["--no-fo"], ["--force-with-lease"],
        ["--force-with-lease=main:HEAD"], ["--no-force"], ["--verify"], ["--no-verify"], ["--rec=check"],
        ["--recurse-submodules=check"], ["--receive-pack=x"], ["--del", "origin", "x"], ["origin", "+main"],
        ["--signed"], ["--signed=yes"], ["-o", "a", "-o", "b"], ["--bogus"], ["-x"], ["--all", "--prune"],
        ["--mirror=x"], ["-4", "-6"], ["--thin", "--no-thin"], ["--repo=x"], ["--exec=x"], ["--no-exec"],
        ["--tags", "--follow-tags", "--atomic", "--porcelain", "-n", "-q", "-v", "--progress"],
        ["--force-if", "--no-force-with-lease"], ["origin", "main", "--set-up"],
    ],
    "clean": [
        ["-fdx"], ["-n"], ["--dry"], ["--dry-run", "--no-dry-run"], ["-e", "x", "-X"], ["--exclude=x"], ["-i"],
        ["--no-interactive"], ["--bogus"], ["-fz"], ["-eq"], ["--no-exclude"], ["-d", "dir"],
    ],
    "reset": [
        ["--har"], ["--hard", "HEAD"], ["--soft"], ["--mixed"], ["--merge"], ["--keep"], ["--no-hard"], ["--h"],
        ["--refresh"], ["--no-refresh"], ["-p"], ["-N"], ["--pathspec-from-file=x"], ["--recurse-submodules"],
        ["--recurse-submodules=no"], ["--recurse-submodules=x"], ["--bogus"], ["-q", "--no-quiet"], ["--m"], ["-x"],
        ["HEAD", "f"],
    ],
    "checkout": [
        ["-f", "main"], ["--forc", "main"], ["-b", "new"], ["-bnew"], ["-B", "new", "main"], ["--ours", "x"],
        ["-2", "x"], ["-3"], ["--theirs"], ["-p"], ["--orphan=x"], ["--conflict=diff3"], ["--track=direct"],
        ["-t"], ["--no-track"], ["--detach"], ["--no-guess"], ["--overlay"], ["--no-overlay"], ["--bogus"],
        ["-m"], ["--pathspec-from-file=x", "--pathspec-file-nul"], ["--ignore-skip-worktree-bits"], ["-l"],
        ["--progress", "-q"], ["--recurse-submodules"], ["--ignore-other-worktrees", "--overwrite-ignore"],
        ["--o"], ["--ou"], ["-fq", "main", "a"],
    ],
    "switch": [
        ["-c", "x"], ["-C", "x"], ["--force-create=x"], ["--disc"], ["--discard-changes"], ["-f"], ["--no-force"],
        ["--create", "x"], ["--guess"], ["--bogus"], ["-d"], ["--orphan", "x"], ["-m"], ["-t"],
        ["--track=inherit"], ["--no-create"], ["--f"], ["--fo"], ["-b", "x"],
    ],
    "branch": [
        ["-D", "x"], ["--del", "x"], ["-d", "x"], ["-M", "a", "b"], ["-m", "b"], ["-C", "b"], ["-c", "b"],
        ["--list", "x*"], ["-a", "-v"], ["--show-current"], ["--contains", "HEAD"], ["--no-contains=HEAD"],
        ["--merged=HEAD"], ["--sort=refname"], ["--format=%(refname)"], ["--color"], ["--color=always"],
        ["--no-color"], ["--abbrev=7"], ["--column"], ["-u", "origin/x"], ["--set-upstream-to=origin/x"],
        ["--unset-upstream"], ["--edit-description"], ["--bogus"], ["-f", "x"], ["--no-track"],
        ["--recurse-submodules"], ["-i"], ["--points-at", "HEAD"], ["--create-reflog", "x"], ["-vv", "-r"],
        ["--no-merged", "HEAD"], ["--mo", "a"], ["--no-list"], ["-x"],
    ],
    "tag": [
        ["-d", "x"], ["--del", "x"], ["-f", "x"], ["-l"], ["-l", "v*"], ["-n5"], ["-n"], ["-a", "-m", "msg", "x"],
        ["-s", "x"], ["-u", "key", "x"], ["-F", "f", "x"], ["-e"], ["--cleanup=verbatim"], ["--sort=v:refname"],
        ["--column=always"], ["--bogus"], ["-v", "x"], ["--no-sign"], ["--list"], ["-i"], ["--format=x"],
        ["--color=never"], ["--no-list"], ["--no-delete"], ["-am", "msg", "x"],
    ],
    "gc": [
        ["--prune"], ["--prune=now"], ["--pru=now"], ["--no-prune"], ["--aggressive", "--auto", "-q"], ["--force"],
        ["--cruft"], ["--keep-largest-pack"], ["--bogus"], ["--a"], ["--ag"],
    ],
}

# git's own options (`git.git`), before the subcommand `version`.
GIT_GLOBAL_CASES = [
    [], ["-C", "/tmp"], ["-c", "a.b=c"], ["--no-pager"], ["-P"], ["-p"], ["--git-dir=.git"], ["--git-dir", ".git"],
    ["--work-tree=."], ["--bare"], ["--exec-path=/usr/lib/git-core"], ["--config-env=a.b=HOME"],
    ["--config-env", "a.b=HOME"], ["--literal-pathspecs", "--glob-pathspecs", "--icase-pathspecs"],
    ["--noglob-pathspecs", "--no-literal-pathspecs"], ["--no-optional-locks", "--no-replace-objects"],
    ["--namespace=x"], ["--namespace", "x"], ["--list-cmds=main"], ["--shallow-file", "x"], ["--bogus"], ["-x"],
    ["--html-path"], ["--man-path"], ["--info-path"], ["-v"], ["--version"], ["--exec-path"],
    ["--no-pag"], ["-Cdir"], ["-pP"], ["--git-di=.git"], ["--shallow-file=x"], ["--list-cmds", "main"],
    ["--attr-source=HEAD"], ["--no-advice"],
]

# What git refuses when it converts a value, which the grammars keep as a string (harmless: git
# then runs nothing).
GIT_KNOWN_DIFFERENCES = {
    ("reset", ("--recurse-submodules=x",)),
}

# git reads its own options exactly as spelled: the grammar also reads these abbreviations,
# clusters and attached values, which git refuses (harmless: git then runs nothing).
GIT_GLOBAL_KNOWN_DIFFERENCES = {
    ("--no-pag",), ("-Cdir",), ("-pP",), ("--git-di=.git",), ("--shallow-file=x",), ("--list-cmds", "main"),
}

# Where a program departs from getopt_long's rules in a way a grammar cannot say: the grammar
# accepts these, the program refuses them (harmless: the program then does nothing).
KNOWN_DIFFERENCES = {
    ("rm", ("--no", "x")),  # rm refuses any abbreviation of --no-preserve-root
}

# Wrapper command lines; PROBE stands for the probe program's path.
WRAPPER_CASES = {
    "timeout": [
        ["10", "PROBE", "a", "b"], ["-s", "KILL", "--kill-after=5", "-v", "1m", "PROBE", "a"],
        ["--preserve", "10", "PROBE"], ["--foreground", "10", "PROBE", "-s", "x"], ["10", "PROBE", "--", "x"],
        ["--", "10", "PROBE"], ["-k5", "10", "PROBE"], ["10"], ["--no-such", "10", "PROBE"], ["-x", "10", "PROBE"],
    ],
    "nice": [
        ["PROBE", "a"], ["-n", "5", "PROBE", "a"], ["--adj=5", "PROBE"], ["-n5", "PROBE", "-n", "1"],
        ["-10", "PROBE"], ["-n", "x", "PROBE"], ["--", "PROBE", "--"],
    ],
    "nohup": [["PROBE", "a", "b"], ["PROBE", "--help"], ["--", "PROBE"], ["-x", "PROBE"]],
    "stdbuf": [
        ["-oL", "PROBE", "a"], ["-i", "0", "--error=L", "PROBE"], ["-o0", "--", "PROBE", "-o"], ["PROBE", "a"],
        ["--out=L", "PROBE"], ["-x", "PROBE"],
    ],
    "env": [
        ["PROBE", "a"], ["A=1", "B=x=y", "PROBE", "a", "b"], ["-i", "-u", "HOME", "--unset=PATH", "A=1", "PROBE"],
        ["--", "A=1", "PROBE", "B=2"], ["-0", "PROBE"], ["-v", "PROBE", "-v"], ["--ignore-sig=PIPE", "PROBE"],
        ["-C", "/tmp", "PROBE"], ["-S", "PROBE a"], ["-", "PROBE"], ["=x", "PROBE"], ["A=1"], ["-x", "PROBE"],
        ["A=1", "B=2"],
    ],
    # Run as root (sudoers lets root run anything); without root these cases are left out. -D,
    # -R, -C and -T depend on sudoers options (sudo refused `-D /tmp` for one command and not for
    # another): the functions are unsure of them, and only -C and -T, refused by default, are here.
    "sudo": [
        ["PROBE", "a", "b"], ["-u", "root", "PROBE", "a"], ["--user=root", "-n", "PROBE"],
        ["-nu", "root", "--", "PROBE", "-x"], ["--us=root", "-H", "PROBE"], ["A=1", "PROBE", "B=2"],
        ["-E", "-P", "-S", "PROBE"], ["--preserve-env=PATH", "-k", "PROBE"], ["-g", "root", "PROBE"],
        ["-s", "PROBE"], ["-i", "PROBE"], ["-T", "5", "PROBE"], ["-C", "5", "PROBE"],
        ["-U", "root", "PROBE"], ["-l"], ["-V"], ["--no-such", "PROBE"],
    ],
}
if os.geteuid() != 0:
    print("note: not root, so sudo's cases are left out")
    del WRAPPER_CASES["sudo"]

# Cases a wrapper runs the probe in, where the functions say `none` (unsure) by design.
WRAPPER_UNSURE = {
    ("nice", ("-10", "PROBE")),  # the obsolete adjustment form is not declared
    ("env", ("-C", "/tmp", "PROBE")),  # the command's paths are relative to another directory
    ("env", ("-S", "PROBE a")),  # the command is split from a string
    ("env", ("-", "PROBE")),  # an obsolete -i
    ("sudo", ("-s", "PROBE")),  # through a shell
    ("sudo", ("-i", "PROBE")),  # through a login shell
}

PROGRAMS = {name: shutil.which(name) for name in [*CASES, *WRAPPER_CASES, "git", "curl"]}


def program_accepts(path, arguments, directory):
    """The program's own answer: exit 0 with --help appended."""
    try:
        done = subprocess.run([path, *arguments, "--help"], cwd=directory, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": directory})
    except subprocess.TimeoutExpired:
        sys.exit(f"FAIL: {path} {arguments} did not finish in 10 s")
    return done.returncode == 0


# A line of `git SUB -h`: its short and long spellings and what follows them.
GIT_USAGE_LINE = re.compile(r"^ {4}(?:-([A-Za-z0-9])(\[<[^>]*>\])?(?:, )?)?(?:--([a-z0-9-]+))?(\[=[^\]]*\]| <[^>]*>| \([^)]*\))?")


def git_generated_cases(subcommand, directory, grammar_text):
    """Cases for every flag git's usage lists for SUB and its negation (git decides which exist),
    and for every long flag the grammar declares for SUB: so a grammar that lacks an option or a
    negation git has, or declares one git does not have, disagrees somewhere."""
    usage = subprocess.run(["git", subcommand, "-h"], cwd=directory, capture_output=True, text=True,
                           env={**GIT_ENV, "HOME": directory})
    cases = []
    for line in (usage.stdout + usage.stderr).splitlines():
        match = GIT_USAGE_LINE.match(line)
        if not match or not match.group(3):
            continue
        _, _, long, value = match.groups()
        if value is None or value.startswith("[="):
            cases.append([f"--{long}"])
        negation = long[3:] if long.startswith("no-") else f"no-{long}"
        cases.append([f"--{negation}"])
    block = re.search(r"\n  subcommand " + re.escape(subcommand) + r" \{\n(.*?)\n  \}\n", grammar_text, re.S)
    if block is None:
        sys.exit(f"FAIL: std.git declares no subcommand {subcommand}")
    # An option with a value alone would take git's `-h` as its value: those are left to GIT_CASES.
    takes_value = set()
    for item in block.group(1).splitlines():
        spellings = re.findall(r'"(--[a-z0-9-]+)"', item)
        if item.strip().startswith("flag "):
            cases.extend([spelling] for spelling in spellings)
        else:
            takes_value.update(spellings)
    unique = []
    for case in cases:
        if case not in unique and case[0] not in takes_value:
            unique.append(case)
    return unique


GIT_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


def git_accepts(arguments, directory, subcommand):
    """git's own answer: SUB ARGS -h prints the usage alone; OPTIONS version exits 0."""
    command = ["git", subcommand, *arguments, "-h"] if subcommand else ["git", *arguments, "version"]
    done = subprocess.run(command, cwd=directory, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                          env={**GIT_ENV, "HOME": directory})
    if subcommand:
        return done.returncode == 129 and done.stderr == b"" and done.stdout.startswith(b"usage: ")
    return done.returncode == 0


def curl_accepts(arguments, directory):
    """curl's own answer: `curl -q --proto -all ARGS --help` exits 0 (the help, no transfer)."""
    done = subprocess.run([PROGRAMS["curl"], "-q", "--proto", "-all", *arguments, "--help"], cwd=directory,
                          stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": directory})
    return done.returncode == 0


def curl_verdicts(argument_lists, directory, batch=False):
    """curl_accepts for each list, in parallel. With `batch`, the lists are tried together in one
    run first, then by halves where that run fails: only for lists that stay aligned whatever curl
    makes of them and that do not stop curl early: a `--no-` negation (curl accepts it for a boolean
    option only, which takes no value) or an option with its value (an option that is a flag leaves
    the value a URL). When a run accepts them together, each list alone is accepted too."""
    if batch and len(argument_lists) > 1:
        if curl_accepts([a for arguments in argument_lists for a in arguments], directory):
            return [True] * len(argument_lists)
        half = len(argument_lists) // 2
        return (curl_verdicts(argument_lists[:half], directory, batch) +
                curl_verdicts(argument_lists[half:], directory, batch))
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda arguments: curl_accepts(arguments, directory), argument_lists))


# A line of `curl --help all`: its short spelling, its long one and whether a value follows.
CURL_HELP_LINE = re.compile(r"^ (?:(-.), |    )(--[a-z0-9.-]+)( <[^>]*>)?")

# Options after which curl reads no further (it prints something and exits).
CURL_STOPPERS = {"-h", "--help", "-M", "--manual", "-V", "--version"}


def curl_grammar_spellings(grammar_text):
    """The spellings std.shell's `command curl` declares: {spelling: (field, takes a value)}."""
    block = re.search(r"\ncommand curl \{\n(.*?)\n\}\n", grammar_text, re.S)
    if block is None:
        sys.exit("FAIL: std.shell declares no command curl")
    declared = {}
    for item in block.group(1).splitlines():
        match = re.match(r"\s*(flag|option) (\w+):", item)
        if match:
            for spelling in re.findall(r'"(-[^"]+)"', item):
                declared[spelling] = (match.group(2), match.group(1) == "option")
    return declared


def curl_generated_cases(directory, declared):
    """Cases for every spelling `curl --help all` lists and every spelling the grammar declares:
    each alone; with a value when curl refuses it alone (an option, or no option at all); and for a
    long one curl accepts alone (a flag), its negation `--no-NAME` (`--NAME` for a `--no-NAME`
    the help lists). So a grammar that lacks an option or a negation curl has, reads a flag as an
    option or the reverse, or declares a spelling curl does not have, disagrees with curl somewhere.
    Returns {case: accepted by curl}."""
    usage = subprocess.run([PROGRAMS["curl"], "-q", "--help", "all"], cwd=directory, capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": directory})
    long_of = {}
    for line in usage.stdout.splitlines()[1:]:
        match = CURL_HELP_LINE.match(line)
        if not match:
            sys.exit(f"FAIL: a line of `curl --help all` that is no option: {line!r}")
        short, long, _ = match.groups()
        long_of.update({spelling: long for spelling in (short, long) if spelling})
    if len(long_of) < 250:
        sys.exit(f"FAIL: `curl --help all` lists only {len(long_of)} spellings")
    spellings = list(dict.fromkeys([*long_of, *declared]))
    alone = [[s] for s in spellings if not s.startswith("--no-")]
    negations = [[s] for s in spellings if s.startswith("--no-")]
    verdicts = dict(zip(map(tuple, alone), curl_verdicts(alone, directory)))
    negations += [[f"--no-{s[2:]}"] for s in spellings if s.startswith("--") and verdicts.get((s,))]
    valued = [(s, CURL_VALUES.get(long_of.get(s, s), "1")) for s in spellings
              if not s.startswith("--no-") and not verdicts[(s,)]]
    # Together where they stay aligned (above); the options this build refuses and those after which
    # curl stops reading, alone.
    apart = CURL_UNSUPPORTED | CURL_STOPPERS
    for lists, batch in (([n for n in dict.fromkeys(map(tuple, negations)) if n[0] not in apart], True),
                         ([v for v in valued if v[0] not in apart], True),
                         ([c for c in dict.fromkeys(map(tuple, negations + valued)) if c[0] in apart], False)):
        verdicts.update(zip(lists, curl_verdicts([list(c) for c in lists], directory, batch)))
    for case, accepted in verdicts.items():
        if accepted and case[0] not in declared:
            sys.exit(f"FAIL: curl accepts {case[0]}, which std.shell's curl grammar does not declare")
    return verdicts


def probe_run(path, arguments, directory, probe, record):
    """What the wrapper ran the probe with: its arguments, or None when it did not run it."""
    if os.path.exists(record):
        os.remove(record)
    subprocess.run([path, *[probe if a == "PROBE" else a.replace("PROBE", probe) for a in arguments]],
                   cwd=directory, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=10, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": directory})
    if not os.path.exists(record):
        return None
    with open(record, "rb") as recorded:
        count, *words = recorded.read().split(b"\0")[:-1]
    return [word.decode() for word in words[:int(count)]]


def main():
    govc = sys.argv[1]
    missing = [name for name, path in PROGRAMS.items() if path is None]
    if missing:
        sys.exit(f"FAIL: programs not installed: {' '.join(missing)}")
    work = tempfile.mkdtemp()
    try:
        rules, cases, expected = [], [], 0
        for name in CASES:
            rules.append(f"allow {name}_parses when invoked.name == \"{name}\" and shell.{name}(args) != none\n"
                         f"    with {{ read = [\"/usr\"] }}\n")
        for name, argument_lists in CASES.items():
            run_dir = os.path.join(work, name)
            os.mkdir(run_dir)
            for arguments in argument_lists:
                accepted = program_accepts(PROGRAMS[name], arguments, run_dir)
                if (name, tuple(arguments)) in KNOWN_DIFFERENCES:
                    if accepted:
                        sys.exit(f"FAIL: {name} {arguments} is listed as refused by {name}, which accepts it")
                    accepted = True
                verdict = f"allow by {name}_parses" if accepted else "deny"
                argv = ", ".join(gov_string(a) for a in [f"/usr/bin/{name}", *arguments])
                cases.append(f"  exec [{argv}] cwd \"/w\" => {verdict}\n")
                expected += 1
        # git: its own options, then each subcommand's, in an empty repository.
        git_dir = os.path.join(work, "git")
        os.mkdir(git_dir)
        subprocess.run(["git", "init", "-q", git_dir], check=True, env={**GIT_ENV, "HOME": work})
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "t"],
                       cwd=git_dir, check=True, env={**GIT_ENV, "HOME": work})
        rules.append("allow git_parses when invoked.name == \"git\" and git.git(args) != none\n"
                     "    with { read = [\"/usr\"] }\n")
        for arguments in GIT_GLOBAL_CASES:
            accepted = git_accepts(arguments, git_dir, None)
            if tuple(arguments) in GIT_GLOBAL_KNOWN_DIFFERENCES:
                if accepted:
                    sys.exit(f"FAIL: git {arguments} is listed as refused by git, which accepts it")
                accepted = True
            verdict = "allow by git_parses" if accepted else "deny"
            cases.append(f"  exec {gov_list(['/usr/bin/git', *arguments, 'version'])} cwd \"/w\" => {verdict}\n")
            expected += 1
        # The std.git that govc reads: $GOV_STDLIB, else the source tree's.
        stdlib = os.environ.get("GOV_STDLIB") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                              "stdlib")
        with open(os.path.join(stdlib, "git.gov")) as f:
            git_grammar = f.read()
        for sub, argument_lists in GIT_CASES.items():
            argument_lists = argument_lists + [c for c in git_generated_cases(sub, git_dir, git_grammar)
                                               if c not in argument_lists]
            rule = f"git_{sub.replace('-', '_')}_parses"
            rules.append(f"allow {rule} when invoked.name == \"git\"\n"
                         f"    and git.git(args) as g: g.subcommand == \"{sub}\" and g.{sub} != none\n"
                         f"    with {{ read = [\"/usr\"] }}\n")
            for arguments in argument_lists:
                accepted = git_accepts(arguments, git_dir, sub)
                if (sub, tuple(arguments)) in GIT_KNOWN_DIFFERENCES:
                    if accepted:
                        sys.exit(f"FAIL: git {sub} {arguments} is listed as refused by git, which accepts it")
                    accepted = True
                verdict = f"allow by git_parses, {rule}" if accepted else "deny"
                cases.append(f"  exec {gov_list(['/usr/bin/git', sub, *arguments])} cwd \"/w\" => {verdict}\n")
                expected += 1
        # curl: what it reads before --help.
        curl_dir = os.path.join(work, "curl")
        os.mkdir(curl_dir)
        with open(os.path.join(stdlib, "shell.gov")) as f:
            curl_declared = curl_grammar_spellings(f.read())
        rules.append("allow curl_parses when invoked.name == \"curl\" and shell.curl(args) != none\n"
                     "    with { read = [\"/usr\"] }\n")
        generated = curl_generated_cases(curl_dir, curl_declared)
        listed = [c for c in CURL_CASES if tuple(c) not in generated]
        curl_cases = {**dict(zip(map(tuple, listed), curl_verdicts(listed, curl_dir))), **generated}
        for arguments, accepted in curl_cases.items():
            first = arguments[0]
            # An option this build lacks, alone if a flag, else with its value.
            unsupported = first in CURL_UNSUPPORTED and (len(arguments) > 1 or not curl_declared[first][1])
            # A generated negation curl refuses that abbreviates one negation the grammar declares.
            abbreviated = arguments in generated and first.startswith("--no-") and first not in curl_declared and len(
                {field for spelling, (field, _) in curl_declared.items() if spelling.startswith(first)}) == 1
            if arguments in CURL_KNOWN_DIFFERENCES or unsupported or abbreviated:
                if accepted:
                    sys.exit(f"FAIL: curl {list(arguments)} is listed as refused by curl, which accepts it")
                accepted = True
            if arguments in CURL_KNOWN_REFUSALS:
                if not accepted:
                    sys.exit(f"FAIL: curl {list(arguments)} is listed as accepted by curl, which refuses it")
                accepted = False
            verdict = "allow by curl_parses" if accepted else "deny"
            cases.append(f"  exec {gov_list(['/usr/bin/curl', *arguments])} cwd \"/w\" => {verdict}\n")
            expected += 1
        # Wrappers: what they really ran.
        probe = os.path.join(work, "probe")
        record = os.path.join(work, "probe.args")
        with open(probe, "w") as script:
            script.write(f"#!/bin/sh\nprintf '%s\\0' \"$#\" \"$@\" > {record}\n")
        os.chmod(probe, 0o755)
        wrapper_cases = []
        for name, argument_lists in WRAPPER_CASES.items():
            for number, arguments in enumerate(argument_lists):
                ran = probe_run(PROGRAMS[name], arguments, work, probe, record)
                argv = [a.replace("PROBE", probe) for a in arguments]
                rule = f"{name}_{number}"
                unwrapped = f"shell.wrapped_program(invoked.name, args)"
                if ran is not None and (name, tuple(arguments)) not in WRAPPER_UNSURE:
                    ran_arguments = gov_list(ran) if ran else "[\"\"]"  # an empty list literal has no type
                    compare = "==" if ran else "!="
                    rules.append(f"allow {rule} when invoked.name == \"{name}\" and args == {gov_list(argv)}\n"
                                 f"    and {unwrapped} == {gov_string(probe)}\n"
                                 f"    and shell.wrapped_arguments(invoked.name, args) {compare} {ran_arguments}\n"
                                 f"    and len(shell.wrapped_arguments(invoked.name, args) ?? [\"\"]) == {len(ran)}\n"
                                 f"    with {{ read = [\"/usr\"] }}\n")
                    verdict = f"allow by {rule}"
                else:
                    if ran is None and (name, tuple(arguments)) in WRAPPER_UNSURE:
                        sys.exit(f"FAIL: {name} {arguments} is listed as unsure, but {name} runs nothing")
                    rules.append(f"allow {rule} when invoked.name == \"{name}\" and args == {gov_list(argv)}\n"
                                 f"    and {unwrapped} != none\n"
                                 f"    with {{ read = [\"/usr\"] }}\n")
                    verdict = "deny"
                wrapper_cases.append(f"  exec {gov_list([f'/usr/bin/{name}', *argv])} cwd \"/w\" => {verdict}\n")
                expected += 1
        policy = ("policy grammar_conformance version \"1.0.0\"\n\nimport std.git\nimport std.shell\n\n" + "\n".join(rules) +
                  "\ntest \"the grammars agree with the programs\" {\n" + "".join(cases) + "}\n" +
                  "\ntest \"wrappers run what the functions name\" {\n" + "".join(wrapper_cases) + "}\n")
        if not all_cases_pass(govc, policy, work, "grammar_conformance", expected):
            print("FAIL: a grammar and its program disagree (expected: what the program does)")
            return 1
        print(f"{expected} command lines: every grammar agrees with its program")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

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

Wrappers are checked by what they run: each case runs the wrapper for real
with a probe program (PROBE below) that records the arguments it got, and
`shell.wrapped_program` and `shell.wrapped_arguments` must name exactly the
probe and those arguments — or `none` where the wrapper runs nothing, and in
the cases listed as unsure (never another program or other arguments).

  grammar_conformance.py GOVC
"""
import os
import shutil
import subprocess
import sys
import tempfile

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

PROGRAMS = {name: shutil.which(name) for name in [*CASES, *WRAPPER_CASES]}


def program_accepts(path, arguments, directory):
    """The program's own answer: exit 0 with --help appended."""
    try:
        done = subprocess.run([path, *arguments, "--help"], cwd=directory, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": directory})
    except subprocess.TimeoutExpired:
        sys.exit(f"FAIL: {path} {arguments} did not finish in 10 s")
    return done.returncode == 0


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


def gov_list(items):
    return "[" + ", ".join(gov_string(a) for a in items) + "]"


def gov_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
        policy = ("policy grammar_conformance version \"1.0.0\"\n\nimport std.shell\n\n" + "\n".join(rules) +
                  "\ntest \"the grammars agree with the programs\" {\n" + "".join(cases) + "}\n" +
                  "\ntest \"wrappers run what the functions name\" {\n" + "".join(wrapper_cases) + "}\n")
        policy_file = os.path.join(work, "grammar_conformance.gov")
        with open(policy_file, "w") as out:
            out.write(policy)
        failed = False
        for engine in ([], ["--interp"]):
            done = subprocess.run([govc, "test", *engine, policy_file], capture_output=True, text=True)
            print(done.stdout + done.stderr)
            if done.returncode != 0 or f"{expected} cases, {expected} passed" not in done.stdout + done.stderr:
                failed = True
        if failed:
            print("FAIL: a grammar and its program disagree (expected: what the program does)")
            return 1
        print(f"{expected} command lines: every grammar agrees with its program")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

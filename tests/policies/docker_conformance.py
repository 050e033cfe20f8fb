#!/usr/bin/env python3
"""std.docker's docker grammar against the installed docker CLI.

1. Declarations: docker's global options (`docker --help`, "Global Options") and each declared
   subcommand's (`docker SUB --help`, "Options") must be exactly the grammar's, each a flag where
   docker shows no value type and an option otherwise. The spellings docker hides from its help
   but still reads (HIDDEN) must be declared and accepted.
2. Command lines: docker itself decides whether it accepts each case. cobra and pflag read every
   flag before they act and `--help` then prints the usage and exits 0; an unknown flag, a missing
   value, a value docker converts when it reads it (an int, a duration, a mount) and cannot, or a
   bool flag given a word ParseBool refuses, exits non-zero first. Each case runs with `--help`
   right after the subcommand's name (so that `run`, `create` and `exec`, whose options end at
   their first operand, read it as an option), with DOCKER_CONFIG and DOCKER_HOST pointing at
   nothing: no daemon is needed. Operands are not checked this way (docker prints the help before
   it counts them), nor are undeclared subcommands (`docker nosuch --help` prints docker's own help):
   the grammar refuses both, std.docker's own tests hold them. The grammar says the same through
   `docker.docker(args) != none` under `govc test`, natively and interpreted. Cases come from a
   list (pflag's spellings, options after the image, global options after the subcommand) and one
   is generated for every declared spelling.

docker's CLI is not in Debian 12's archive apart from docker.io's older one: without a docker the
test is skipped (exit 77) and says so.

  docker_conformance.py GOVC
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

from conformance import declared, grammar_agrees, pflag_words, stdlib_text

SKIP = 77

# Spellings docker reads but does not list (deprecated aliases), per subcommand.
HIDDEN = {"run": ["--net", "--net-alias", "--dns-opt"], "create": ["--net", "--net-alias", "--dns-opt"]}

# Operands that satisfy each declared subcommand (generated cases put options before them).
OPERANDS = {
    "run": ["alpine"], "create": ["alpine"], "exec": ["web", "sh"], "build": ["."], "pull": ["x"], "push": ["x"],
    "ps": [], "images": [], "logs": ["web"], "inspect": ["web"], "rm": ["web"], "rmi": ["x"], "stop": ["web"],
    "start": ["web"], "kill": ["web"], "restart": ["web"], "cp": ["web:/x", "."], "tag": ["a", "b"],
    "login": [], "logout": [], "version": [], "info": [], "search": ["x"],
}

# (global options, subcommand, the rest).
CASES = [
    ([], "ps", []), ([], "ps", ["-a", "-q"]), ([], "ps", ["-aq"]), ([], "ps", ["-D"]), (["-D"], "ps", []),
    ([], "ps", ["-H", "x"]), (["-H", "tcp://x"], "ps", []), (["-Htcp://x"], "ps", []), (["-H=tcp://x"], "ps", []),
    (["--host", "x"], "ps", []), (["-cprod"], "ps", []), (["--context=prod"], "images", []),
    (["--cont=x"], "ps", []), ([], "ps", ["--al"]), ([], "ps", ["--all=false"]), ([], "ps", ["-a=maybe"]),
    (["-D=false", "-l", "info"], "ps", []), (["--tlsverify"], "version", []),
    ([], "run", ["alpine"]), ([], "run", ["-it", "alpine", "sh"]), ([], "run", ["-dit", "--name", "x", "alpine"]),
    ([], "run", ["--rm", "alpine", "sh", "--privileged"]), ([], "run", ["alpine", "--bogus"]),
    ([], "run", ["--bogus", "alpine"]), ([], "run", ["--privileged=false", "alpine"]),
    ([], "run", ["--net=host", "alpine"]), ([], "run", ["--net-alias", "a", "alpine"]),
    ([], "run", ["-v", "/:/h", "alpine"]), ([], "run", ["-v/:/h", "alpine"]), ([], "run", ["-v=/:/h", "alpine"]),
    ([], "run", ["--volume", "/:/h", "alpine"]), ([], "run", ["-h", "host", "alpine"]),
    ([], "run", ["-e", "A=1", "--env=B=2", "alpine"]), ([], "run", ["--cap-add=SYS_ADMIN", "alpine"]),
    ([], "run", ["--network", "bridge", "--network", "host", "alpine"]), ([], "run", ["--debug", "alpine"]),
    ([], "run", ["--", "alpine"]), ([], "exec", ["-it", "web", "sh"]), ([], "exec", ["web", "sh", "-c", "ls"]),
    ([], "exec", ["--privileged", "web", "sh"]), ([], "exec", ["-u", "0", "web", "id"]),
    ([], "create", ["--pid=host", "alpine"]), ([], "pull", ["-q", "ubuntu"]), ([], "push", ["x/y"]),
    ([], "logs", ["-f", "web"]), ([], "logs", ["--tail=5", "web"]), ([], "rm", ["-f", "web"]),
    ([], "stop", ["-t", "1", "web"]), ([], "stop", ["-t", "x", "web"]), ([], "kill", ["-s", "KILL", "web"]),
    ([], "cp", ["web:/x", "."]), ([], "tag", ["a", "b"]), ([], "login", ["-u", "me", "r.io"]),
    ([], "version", ["-f", "{{.Client.Version}}"]), ([], "images", ["-a"]), ([], "build", ["-t", "x", "."]),
    ([], "start", ["-a", "web"]), ([], "restart", ["web"]), ([], "search", ["--limit", "5", "x"]),
    ([], "tag", ["a", "-b"]), ([], "tag", ["-f", "a", "b"]), ([], "run", ["--dns-opt", "ndots:1", "alpine"]),
    ([], "run", ["--use-api-socket", "alpine"]), ([], "run", ["--network", "name=host,alias=a", "alpine"]),
]

# Where the grammar knowingly differs, with docker's own verdict: values it keeps as strings where
# docker converts them when it reads them.
KNOWN_DIFFERENCES = {
    ("stop", "-t", "x", "web"): False,
}


def listed_options(text, section):
    """{spelling: kind} from a docker help text's option list (`  -v, --volume list   ...`)."""
    parts = re.split(r"^" + section + r":\n", text, maxsplit=1, flags=re.M)
    found = {}
    if len(parts) < 2:
        return found
    for line in parts[1].splitlines():
        if line and not line.startswith(" "):
            break
        m = re.match(r"^  (?:(-\w), )?\s*(--[\w-]+)( \w[\w-]*)?\s", line + " ")
        if m:
            for spelling in (m.group(1), m.group(2)):
                if spelling and spelling not in ("-h", "--help"):
                    found[spelling] = "option" if m.group(3) else "flag"
    return found


def run(docker, arguments, directory):
    env = {"PATH": "/usr/bin:/bin", "HOME": directory, "DOCKER_CONFIG": directory,
           "DOCKER_HOST": "unix://" + os.path.join(directory, "no-daemon.sock")}
    try:
        return subprocess.run([docker, *arguments], cwd=directory, env=env, capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        sys.exit(f"FAIL: docker {arguments} did not finish in 60 s")


def check_declarations(docker, scopes, directory):
    problems = []
    want = {"": listed_options(run(docker, ["--help"], directory).stdout, "Global Options")}
    for scope in scopes:
        if scope:
            want[scope] = listed_options(run(docker, [scope, "--help"], directory).stdout, "Options")
    for scope, real in want.items():
        mine = scopes[scope]
        where = f"docker {scope}" if scope else "docker's global options"
        for spelling, kind in real.items():
            if spelling not in mine:
                problems.append(f"{where}: {spelling} ({kind}) is not declared")
            elif mine[spelling] != kind:
                problems.append(f"{where}: {spelling} is {kind} in docker, {mine[spelling]} in the grammar")
        for spelling in mine:
            if spelling not in real and spelling not in ("-h", "--help") and spelling not in HIDDEN.get(scope, []):
                problems.append(f"{where}: {spelling} is declared but docker has no such option")
        for spelling in HIDDEN.get(scope, []):
            if spelling not in mine:
                problems.append(f"{where}: {spelling} (hidden) is not declared")
    return problems


def generated_cases(scopes, value_of):
    """Each declared spelling once, in the forms pflag reads, on the subcommand that has it (global
    options before `ps`)."""
    cases = []
    for scope, spellings in scopes.items():
        for spelling, kind in spellings.items():
            if spelling in ("-h", "--help"):
                continue
            form = len(cases) % 3
            words = pflag_words(spelling, kind, False, value_of(scope, spelling) if kind == "option" else "", form)
            cases.append((words, "ps", []) if not scope else ([], scope, words + OPERANDS[scope]))
    return cases


def main():
    govc = sys.argv[1]
    docker = shutil.which("docker", path="/usr/local/bin:/usr/bin:/bin")
    if docker is None:
        print("SKIP: docker is not installed; std.docker is checked by its own tests")
        return SKIP
    scopes = {scope: {spelling: kind for spelling, (kind, _) in spellings.items()}
              for scope, spellings in declared(stdlib_text("docker"), "docker").items()}
    work = tempfile.mkdtemp()
    try:
        version = run(docker, ["--version"], work).stdout.strip()
        print(f"docker: {docker}, {version or 'version unknown'}")
        problems = check_declarations(docker, scopes, work)
        for problem in problems:
            print("FAIL:", problem)

        def docker_line(case):
            before, sub, after = case
            return [*before, sub, "--help", *after]

        # A value docker accepts when it reads it (an int, a duration, bytes, a mount, a ulimit, a
        # host:ip mapping, a stream name, a device rate, an address, a sysctl, a log level ...).
        def find_value(key):
            scope, spelling = key
            for value in ("1", "1s", "1m", "type=bind,src=/,dst=/x", "nofile=1:1", "all", "x=1", "host", "h:1.2.3.4",
                          "stdin", "/dev/null:10", "1.2.3.4", "net.ipv4.ip_forward=1", "info", "c 1:3 mr"):
                line = ([spelling + "=" + value], "ps", []) if not scope else ([], scope, [spelling + "=" + value,
                                                                                             *OPERANDS[scope]])
                if run(docker, docker_line(line), work).returncode == 0:
                    return value
            return "1"
        keys = [(scope, spelling) for scope, spellings in scopes.items() for spelling, kind in spellings.items()
                if kind == "option"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            values = dict(zip(keys, pool.map(find_value, keys)))
        generated = generated_cases(scopes, lambda scope, spelling: values[(scope, spelling)])
        cases = CASES + [c for c in generated if c not in CASES]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda case: run(docker, docker_line(case), work).returncode, cases))
        agrees = grammar_agrees(govc, work, "docker", "docker", "docker",
                                [[*before, sub, *after] for before, sub, after in cases],
                                [code == 0 for code in codes], KNOWN_DIFFERENCES)
        if problems or not agrees:
            print("FAIL: std.docker's grammar and docker disagree (expected: what docker does)")
            return 1
        print("every declared option: std.docker's grammar agrees with docker")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

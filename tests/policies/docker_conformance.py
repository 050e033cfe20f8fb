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

from conformance import all_cases_pass, gov_list

SKIP = 77

# Spellings docker reads but does not list (deprecated aliases), per subcommand.
HIDDEN = {"run": ["--net", "--net-alias"], "create": ["--net", "--net-alias"]}

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
]

# Where the grammar knowingly differs, with docker's own verdict: values it keeps as strings where
# docker converts them when it reads them.
KNOWN_DIFFERENCES = {
    ("stop", "-t", "x", "web"): False,
}


def declared(grammar):
    """{scope: {spelling: kind}} of std.docker's `command docker`; scope "" is global."""
    body = grammar[grammar.index("command docker {"):]
    scopes, scope, depth = {"": {}}, "", 0
    for line in body.splitlines()[1:]:
        sub = re.match(r"\s*subcommand (\w+)(?:: \"([^\"]+)\")? \{", line)
        if sub:
            scope = sub.group(2) or sub.group(1)
            scopes[scope] = {}
            depth += 1
            continue
        if line.strip() == "}":
            if depth == 0:
                break
            depth -= 1
            scope = ""
            continue
        item = re.match(r"\s*(flag|option) \w+:(.*?)((?:\"-[^\"]+\"(?:, )?)+)\s*$", line)
        if item:
            for spelling in re.findall(r"\"(-[^\"]+)\"", item.group(3)):
                scopes[scope][spelling] = item.group(1)
    return scopes


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
            if kind == "flag":
                words = [spelling + "=false"] if form == 2 else [spelling]
            elif spelling.startswith("--"):
                value = value_of(scope, spelling)
                words = [spelling, value] if form == 0 else [spelling + "=" + value]
            else:
                value = value_of(scope, spelling)
                words = [[spelling, value], [spelling + value], [spelling + "=" + value]][form]
            cases.append((words, "ps", []) if not scope else ([], scope, words + OPERANDS[scope]))
    return cases


def main():
    govc = sys.argv[1]
    docker = shutil.which("docker", path="/usr/local/bin:/usr/bin:/bin")
    if docker is None:
        print("SKIP: docker is not installed; std.docker is checked by its own tests")
        return SKIP
    stdlib = os.environ.get("GOV_STDLIB") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                          "stdlib")
    with open(os.path.join(stdlib, "docker.gov")) as f:
        scopes = declared(f.read())
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
        lines = []
        for (before, sub, after), code in zip(cases, codes):
            arguments = [*before, sub, *after]
            accepted = code == 0
            if tuple(arguments) in KNOWN_DIFFERENCES:
                if accepted != KNOWN_DIFFERENCES[tuple(arguments)]:
                    print(f"FAIL: docker {arguments} is listed as {'accepted' if not accepted else 'refused'} by "
                          f"docker, which {'accepts' if accepted else 'refuses'} it")
                    problems.append("a known difference changed")
                accepted = not accepted
            verdict = "allow by docker_parses" if accepted else "deny"
            lines.append(f"  exec {gov_list(['/usr/bin/docker', *arguments])} cwd \"/w\" => {verdict}\n")
        policy = ("policy docker_conformance version \"1.0.0\"\n\nimport std.docker\n\n"
                  "allow docker_parses when invoked.name == \"docker\" and docker.docker(args) != none\n"
                  "    with { read = [\"/usr\"] }\n\n"
                  "test \"the grammar agrees with docker\" {\n" + "".join(lines) + "}\n")
        passed = all_cases_pass(govc, policy, work, "docker_conformance", len(lines))
        if problems or not passed:
            print("FAIL: std.docker's grammar and docker disagree (expected: what docker does)")
            return 1
        print(f"{len(lines)} command lines and every declared option: std.docker's grammar agrees with docker")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

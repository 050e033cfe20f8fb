#!/usr/bin/env python3
"""std.kube's kubectl grammar against the installed kubectl.

1. Declarations: kubectl's global options (`kubectl options`) and each declared subcommand's
   (`kubectl SUB --help`; for `rollout`, `set` and `top` the union of their actions') must be
   exactly the grammar's, each a flag where kubectl shows a bool default and an option otherwise;
   an option whose value is optional (pflag's NoOptDefVal: `kubectl SUB --opt --help` prints the
   help) must be declared `value optional`, and no other.
2. Command lines: kubectl itself decides whether it accepts each case. cobra and pflag read every
   flag before they act, and `--help` then prints the usage and exits 0; an unknown flag, a missing
   value, a bool flag given a word ParseBool refuses, or an unknown subcommand exits non-zero first.
   Each case runs with `--help` appended, in an empty directory, with KUBECONFIG pointing at an
   empty file (a case whose last option takes `--help` as its value fails on that). Operands are
   not checked this way (cobra prints the help before it counts them), nor are cases with `--`
   (`--help` is an operand after it): the unit tests and std.kube's own tests hold those. The grammar
   says the same through `kube.kubectl(args) != none` under `govc test`, natively and interpreted.
   Cases come from a list (pflag's spellings: `-n=x`, `-nx`, clusters, bools given values, no
   abbreviations) and one is generated for every declared spelling.

kubectl is not in Debian's archive: without it the test is skipped (exit 77) and says so.

  kubectl_conformance.py GOVC
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

# Where the grammar knowingly differs (docs/language.md), with kubectl's own verdict: a
# subcommand's option before the subcommand's name (cobra accepts it, the grammar is stricter),
# and an action's option given to another action of `rollout` or `set` (kubectl refuses it, the
# grammar declares the union of their actions' options).
KNOWN_DIFFERENCES = {
    ("-o", "json", "get"): True,
    ("rollout", "restart", "x", "--to-revision=1"): False,
    ("set", "subject", "x"): True,  # an action the grammar does not declare
    # An action after options: cobra runs `restart` here, pflag's reading gives `status` (refused).
    ("rollout", "-Rl", "restart", "status", "x"): True,
    # Values are read as strings: kubectl refuses an int or a duration it cannot convert.
    ("logs", "x", "--since=5"): False,
    ("logs", "x", "--tail=x"): False,
}

CASES = [
    ["get", "pods"], ["get", "pods", "-n", "x"], ["get", "pods", "-nx"], ["get", "pods", "-n=x"],
    ["-n", "x", "get", "pods"], ["--namespace=x", "get"], ["get", "--namespace", "x"], ["get", "-n"],
    ["get", "-Aw"], ["get", "-wA", "-o", "json"], ["get", "-ojson"], ["get", "-o=json"], ["get", "-A=false"],
    ["get", "-A=t"], ["get", "-A=yes"], ["get", "--watch=0"], ["get", "--watch=maybe"], ["get", "--watch="],
    ["get", "--all-names"], ["get", "--all"], ["--cont=x", "get"], ["--context=a", "get", "--context", "b"],
    ["get", "-shttps://x"], ["get", "-s=https://x"], ["get", "--insecure-skip-tls-verify=false"],
    ["-o", "json", "get"], ["get", "-x"], ["nosuch"], ["exec", "-it", "p", "sh"],
    ["exec", "p", "-c", "c"], ["apply", "-f", "x.yaml", "--dry-run"], ["apply", "-f", "x.yaml", "--dry-run=server"],
    ["apply", "-k", "dir", "--server-side", "--force-conflicts"],
    ["rollout", "status", "deployment/x", "-w"], ["rollout", "restart", "deployment/x"],
    ["rollout", "undo", "x", "--to-revision=1"], ["rollout", "-Rl", "restart", "status", "x"], ["rollout", "restart", "x", "--to-revision=1"],
    ["set", "image", "deployment/x", "c=i:1"], ["set", "env", "deployment/x", "-e", "A=1"], ["set", "subject", "x"],
    ["top", "pods"], ["top", "po", "-A"], ["top", "nodes", "--show-capacity"], ["delete", "pod", "x", "--now"],
    ["delete", "pod", "x", "--cascade"], ["delete", "pod", "x", "--cascade=orphan"], ["logs", "-fp", "x"],
    ["logs", "x", "--tail=5", "--since", "1h"], ["logs", "x", "--since=5"], ["logs", "x", "--tail=x"], ["version", "--client"], ["api-resources", "--namespaced=false"],
    ["explain", "pods", "-o", "plaintext"], ["events", "--types", "Warning"], ["wait", "--for=delete", "pod/x"],
    ["-v=6", "get"], ["-v6", "get"], ["--v", "6", "get"], ["--as-group", "a", "--as-group", "b", "get"],
    ["get", "-h"], ["-h"], ["describe", "-Rf", "dir"], ["diff", "-f", "x", "--prune"],
]


def listed_options(text):
    """{spelling: kind} from a kubectl help text's option list (`-n, --namespace='':`)."""
    found = {}
    for m in re.finditer(r"^\s+(?:(-\w), )?(--[\w-]+)=(\S*):", text, re.M):
        kind = "flag" if m.group(3) in ("false", "true") else "option"
        for spelling in (m.group(1), m.group(2)):
            if spelling and spelling not in ("-h", "--help"):
                found[spelling] = kind
    return found


ACTIONS = {"rollout": ["history", "pause", "restart", "resume", "status", "undo"],
           "set": ["env", "image", "resources"], "top": ["node", "pod"]}


def run(kubectl, arguments, directory):
    env = {"PATH": "/usr/bin:/bin", "HOME": directory, "KUBECONFIG": os.path.join(directory, "empty-config")}
    try:
        return subprocess.run([kubectl, *arguments], cwd=directory, env=env, capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        sys.exit(f"FAIL: kubectl {arguments} did not finish in 60 s")


def check_declarations(kubectl, scopes, directory, action_options):
    problems = []
    options = run(kubectl, ["options"], directory).stdout
    want = {"": listed_options(options)}
    for scope in scopes:
        if not scope:
            continue
        union = {}
        for action in ACTIONS.get(scope, [None]):
            text = run(kubectl, [scope, *([action] if action else []), "--help"], directory).stdout
            listed = listed_options(text.split("Options:")[-1].split("Usage:")[0])
            if action:
                action_options.setdefault(scope, {})[action] = listed
            for spelling, kind in listed.items():
                if spelling in union and union[spelling] != kind:
                    problems.append(f"{scope}: {spelling} is a flag in one action and an option in another")
                union[spelling] = kind
        want[scope] = union
    for scope, real in want.items():
        mine = scopes[scope]
        where = f"kubectl {scope}" if scope else "kubectl's global options"
        for spelling, kind in real.items():
            if spelling not in mine:
                problems.append(f"{where}: {spelling} ({kind}) is not declared")
            elif mine[spelling][0] != kind:
                problems.append(f"{where}: {spelling} is {kind} in kubectl, {mine[spelling][0]} in the grammar")
        for spelling in mine:
            if spelling not in real and spelling not in ("-h", "--help"):
                problems.append(f"{where}: {spelling} is declared but kubectl has no such option")
        # pflag's optional values: `--opt --help` prints the help only when --opt takes no argument.
        def takes_none(spelling):
            actions = [a for a in ACTIONS[scope] if spelling in action_options[scope][a]] if scope in ACTIONS else [None]
            return any(run(kubectl, [*([scope] if scope else ["get"]), *([a] if a else []), spelling, "--help"],
                           directory).returncode == 0 for a in actions)
        valued = [sp for sp, (kind, _) in mine.items() if kind == "option" and sp.startswith("--")]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            for spelling, none in zip(valued, pool.map(takes_none, valued)):
                if none != mine[spelling][1]:
                    problems.append(f"{where}: {spelling} is {'' if none else 'not '}optional-valued in kubectl")
    return problems


def generated_cases(scopes, action_options, value_of):
    """Each declared spelling once, in the forms pflag reads, on a subcommand (and action) that has
    it (the declarations check holds every subcommand's spellings and kinds)."""
    cases = []
    seen = set()
    for scope, spellings in scopes.items():
        for spelling, (kind, optional) in spellings.items():
            if spelling in ("-h", "--help") or spelling in seen:
                continue
            seen.add(spelling)
            prefix = [scope, "p"] if scope == "exec" else [scope] if scope else ["get"]
            if scope in ACTIONS:
                having = [a for a in ACTIONS[scope] if spelling in action_options[scope][a]]
                prefix = [scope, (having or ACTIONS[scope])[0]]
            # One case per spelling, the forms pflag reads taken in turn (their reading is the
            # same for every option: the unit tests hold it; this holds each option's kind).
            form = len(cases) % 3
            value = value_of(prefix, spelling) if kind == "option" else ""
            cases.append(prefix + pflag_words(spelling, kind, optional, value, form))
    return cases


def main():
    govc = sys.argv[1]
    kubectl = shutil.which("kubectl", path="/usr/local/bin:/usr/bin:/bin")
    if kubectl is None:
        print("SKIP: kubectl is not installed (it is not in Debian's archive); std.kube is checked by its own tests")
        return SKIP
    scopes = declared(stdlib_text("kube"), "kubectl")
    work = tempfile.mkdtemp()
    try:
        open(os.path.join(work, "empty-config"), "w").close()
        version = run(kubectl, ["version", "--client"], work).stdout.splitlines()
        print(f"kubectl: {kubectl}, {version[0] if version else 'version unknown'}")
        action_options = {}
        problems = check_declarations(kubectl, scopes, work, action_options)
        for problem in problems:
            print("FAIL:", problem)
        # A value of the option's type (int, duration, `pattern=N`, a choice), as kubectl converts it.
        def find_value(key):
            prefix, spelling = key
            for value in ("1", "1s", "x=1", "client", "background", "strict", "json"):
                if run(kubectl, [*prefix, spelling + "=" + value, "--help"], work).returncode == 0:
                    return value
            return "1"
        # One probe per spelling: kubectl gives a spelling one type in every subcommand (a case
        # fails if not).
        wanted = {}
        generated_cases(scopes, action_options, lambda prefix, spelling: wanted.setdefault(spelling, tuple(prefix)) and "1")
        keys = [(prefix, spelling) for spelling, prefix in wanted.items()]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            values = dict(zip(wanted, pool.map(find_value, keys)))
        generated = generated_cases(scopes, action_options, lambda prefix, spelling: values[spelling])
        cases = CASES + [c for c in generated if c not in CASES]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda arguments: run(kubectl, [*arguments, "--help"], work).returncode, cases))
        agrees = grammar_agrees(govc, work, "kubectl", "kube", "kubectl", cases, [code == 0 for code in codes],
                                KNOWN_DIFFERENCES)
        if problems or not agrees:
            print("FAIL: std.kube's grammar and kubectl disagree (expected: what kubectl does)")
            return 1
        print("every declared option: std.kube's grammar agrees with kubectl")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

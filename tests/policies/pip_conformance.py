#!/usr/bin/env python3
"""std.pip's pip grammar against the installed pip, through pip's own parser.

1. Declarations: pip's general options (its main parser's) and each subcommand's own (its
   command parser's, without the general ones) must be exactly the grammar's, each a flag where
   pip takes no value and an option otherwise.
2. Command lines: pip itself decides whether it accepts each case and how it reads it. The cases
   go to /usr/bin/python3 running pip's code (`parse_command`, then the command's parser: what
   `pip` does before it acts), with pip's configuration files and environment turned off; a parse
   error or an unknown command is a refusal, `--help` and `--version` accept. The grammar says
   the same through `pip.pip(args) != none` under `govc test`, natively and interpreted; and for
   every accepted case it reads the same subcommand, `--python`, `--proxy`, verbosity, `--user`
   and operands as pip (each compared by a rule that fires on a difference). Cases: every
   declared spelling, long and abbreviated, separate and attached, before and after the
   subcommand's name, and a list of pip's own reading (clusters, `--`, a value that spells the
   subcommand's name).

The grammar is pip 23.0's (Debian 12's python3-pip): another pip, or none, skips the test
(exit 77) and says so.

  pip_conformance.py GOVC
"""
import json
import os
import subprocess
import sys
import tempfile

from conformance import all_cases_pass, declared, exec_with_env, govc_or_usage, grammar_agrees, stdlib_text

SKIP = 77
PYTHON = "/usr/bin/python3"

# Runs in pip's interpreter: one JSON list of argument lists in, one verdict per case out.
PIP_SIDE = r'''
import contextlib, io, json, sys
from pip._internal.cli.main_parser import create_main_parser, parse_command
from pip._internal.commands import commands_dict, create_command

def options(parser, skip=()):
    found = {}
    for group in [parser] + parser.option_groups:
        for o in group.option_list:
            for spelling in o._short_opts + o._long_opts:
                if spelling not in skip:
                    found[spelling] = "option" if o.takes_value() else "flag"
    return found

def read(args):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            name, rest = parse_command(list(args))
            command = create_command(name, isolated=("--isolated" in rest))
            opts, operands = command.parse_args(rest)
    except SystemExit as e:
        return {"ok": not e.code}
    except Exception:
        return {"ok": False}
    return {"ok": True, "subcommand": name, "python": opts.python, "proxy": opts.proxy or None,
            "verbose": bool(opts.verbose), "user": getattr(opts, "use_user_site", None), "operands": operands}

if sys.argv[1] == "declarations":
    general = options(create_main_parser())
    scopes = {"": general}
    for name in commands_dict:
        scopes[name] = options(create_command(name).parser, skip=general)
    print(json.dumps(scopes))
else:
    import pip
    print(json.dumps({"version": pip.__version__, "cases": [read(a) for a in json.load(sys.stdin)]}))
'''

# Operands that satisfy each subcommand (generated cases put options before them).
OPERANDS = {"install": ["x"], "download": ["x"], "uninstall": ["x"], "show": ["x"], "wheel": ["x"], "hash": ["f"],
            "config": ["list"], "cache": ["dir"], "index": ["versions", "x"], "search": ["x"], "help": ["list"]}

# Values pip checks as it reads them, where the grammar takes any string (a float, an int read as
# optparse reads it, choices of a repeatable option, a version, KEY=VALUE): generated cases give
# these, the known differences below the others.
VALID = {"--timeout": "1.5", "--default-timeout": "1.5", "--retries": "3", "--exists-action": "w",
         "--use-feature": "truststore", "--use-deprecated": "legacy-resolver", "--python-version": "3.11",
         "--config-settings": "k=v"}

# Where the grammar knowingly reads more than pip (the case: pip's verdict). Each is a line pip
# refuses before it acts: a value it checks (above), or an abbreviation of several spellings of one
# option (`--no-dep`: --no-deps and --no-dependencies), which optparse calls ambiguous and
# getopt_long (the gnu style) reads as that option.
KNOWN = {("list", "--timeout", "soon"): False, ("list", "--retries", "many"): False,
         ("--exists-action", "q", "list"): False, ("list", "--use-feature", "fast"): False,
         ("install", "--python-version", "three", "x"): False, ("install", "--config-settings", "k", "x"): False,
         ("install", "--no-dep", "x"): False, ("download", "--no-dep", "x"): False, ("wheel", "--no-dep", "x"): False,
         ("install", "--sourc", "v", "x"): False, ("download", "--sourc", "v", "x"): False,
         ("wheel", "--sourc", "v", "x"): False, ("install", "--source-di", "v", "x"): False,
         ("download", "--source-di", "v", "x"): False, ("wheel", "--source-di", "v", "x"): False,
         ("download", "--des", "v", "x"): False, ("download", "--destination-di", "v", "x"): False}

# pip's reading, beyond one option at a time.
CASES = [
    [], ["list"], ["-v", "list"], ["list", "-v"], ["list", "-vv", "-q"], ["list", "-vo"], ["list", "-ov"],
    ["--python", "/py", "list"], ["list", "--python", "/py"], ["list", "--python=/py"], ["list", "--pyth", "/py"],
    ["list", "--py=/py"], ["list", "--p", "x"], ["--pyth", "/py", "list"], ["--log", "l", "install", "--log=m"],
    ["--proxy", "install", "--log", "x", "install"], ["--log", "install", "install", "y"],
    ["--proxy", "list", "list"], ["--proxy=list", "list"], ["install", "--", "-v"], ["install", "x", "--", "--user"],
    ["--", "install"], ["install", "-qUe", ".", "--user"], ["install", "-Uq", "x"], ["install", "-e."],
    ["install", "-rreq.txt", "-c", "c.txt"], ["install", "--ta", "/t", "x"], ["install", "--t", "/t", "x"],
    ["install", "--tr", "h", "x"], ["install", "--us", "x"], ["install", "--user=yes", "x"],
    ["install", "--upgrade-strategy", "eager", "x"], ["install", "--upgrade-strategy", "never", "x"],
    ["install", "-U", "-U", "x", "y", "z"], ["instal", "x"], ["--user", "install", "x"], ["-U", "install"],
    ["list", "--bogus"], ["list", "--format", "json"], ["list", "--format", "xml"], ["list", "--python"],
    ["-h"], ["--help"], ["list", "-h"], ["--version"], ["-V", "list"], ["help"], ["help", "install"],
    ["config", "set", "global.index-url", "https://i"], ["config", "edit", "--editor", "./x.sh"],
    ["cache", "purge"], ["download", "-d", "/d", "x"], ["wheel", "-w", "dist", "."], ["freeze", "--log", "/l"],
    ["--isolated", "list"], ["--exists-action", "w", "list"], ["--retries", "010", "list"],
    ["--timeout", "1.5", "list"], *[list(case) for case in KNOWN], ["-", "list"], ["list", "-"],
    ["show", "-f", "requests"], ["hash", "-a", "sha512", "f"], ["completion", "-b"], ["debug", "--platform", "x"],
]


def pip_side(*arguments, stdin=None):
    # pip re-executes itself under a `--python` it finds; as its own child it only reads the line.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PIP_CONFIG_FILE": os.devnull, "LC_ALL": "C.UTF-8",
           "_PIP_RUNNING_IN_SUBPROCESS": "1"}
    done = subprocess.run([PYTHON, "-c", PIP_SIDE, *arguments], input=stdin, capture_output=True, text=True,
                          env=env)
    if done.returncode != 0:
        print(done.stderr)
        return None
    return json.loads(done.stdout)


def generated(scopes):
    """Cases for every declared spelling: long and abbreviated, value separate and attached,
    before and after the subcommand's name for the general ones."""
    cases = []
    for scope, spellings in scopes.items():
        subcommand = scope or "list"
        operands = OPERANDS.get(subcommand, [])
        for spelling, (kind, _) in spellings.items():
            value = VALID.get(spelling, "v")
            words = [[spelling]] if kind == "flag" else [[spelling, value]]
            if kind == "option":
                words.append([spelling + value] if not spelling.startswith("--") else [spelling + "=" + value])
            if spelling.startswith("--") and len(spelling) > 4:
                words.append([spelling[:-1]] if kind == "flag" else [spelling[:-1], value])
            for w in words:
                cases.append([subcommand, *w, *operands])
                if not scope:
                    cases.append([*w, subcommand, *operands])
    return cases


def value_policy(cases, verdicts):
    """A policy whose rules each fire when the grammar reads an accepted case differently from pip
    (the expected reading travels in the case's environment), and its cases (none may fire)."""
    rules = """policy pip_readings version "1.0.0"

import std.pip

def read(arguments: list<string>): list<string> =
    pip.pip(arguments).install.packages ?? pip.pip(arguments).download.packages ?? pip.pip(
      arguments,
    ).uninstall.packages ?? pip.pip(arguments).show.packages ?? pip.pip(arguments).wheel.packages ?? pip.pip(
      arguments,
    ).config.arguments ?? pip.pip(arguments).cache.arguments ?? pip.pip(arguments).index.arguments ?? pip.pip(
      arguments,
    ).search.query ?? pip.pip(arguments).help.topics ?? pip.pip(arguments).list.arguments ?? pip.pip(
      arguments,
    ).freeze.arguments ?? []

deny subcommand_differs when pip.pip(args) as p: (p.subcommand ?? "-") != env["SUB"] ?? "?"
deny python_differs when pip.pip(args) as p: (p.python ?? "-") != env["PY"] ?? "?"
deny proxy_differs when pip.pip(args) as p: (p.proxy ?? "-") != env["PROXY"] ?? "?"
deny verbose_differs when pip.pip(args) as p: p.verbose != (env["VERBOSE"] == "1")
deny user_differs when pip.pip(args) as p: p.install as i: i.user != (env["USER_SITE"] == "1")
deny count_differs when pip.pip(args) != none and len(read(args)) != len(env["COUNT"] ?? "")
"""
    # The first four operands, each against its own variable.
    rules += "".join(f"deny operand{i}_differs when pip.pip(args) != none and (read(args)[{i}] ?? \"-\") != "
                     f"env[\"OP{i}\"] ?? \"?\"\n" for i in range(4))
    rules += "\nallow same when pip.pip(args) != none\n\ntest \"the grammar reads as pip does\" {\n"
    lines = 0
    for arguments, verdict in zip(cases, verdicts):
        # (`hash` reads paths, which the grammar resolves against cwd.)
        if not verdict["ok"] or verdict.get("subcommand") in (None, "hash"):
            continue
        operands = verdict["operands"]
        env = {"SUB": verdict["subcommand"], "PY": verdict["python"] or "-", "PROXY": verdict["proxy"] or "-",
               "VERBOSE": "1" if verdict["verbose"] else "0", "USER_SITE": "1" if verdict["user"] else "0",
               "COUNT": "x" * len(operands)}
        for i in range(4):
            env[f"OP{i}"] = operands[i] if i < len(operands) else "-"
        rules += exec_with_env("/usr/bin/pip", arguments, env, "allow by same", cwd="/w")
        lines += 1
    return rules + "}\n", lines


def main():
    govc = govc_or_usage(__doc__)
    if govc is None:
        return 2
    if not os.path.exists(PYTHON):
        print(f"SKIP: {PYTHON} is not installed")
        return SKIP
    probe = pip_side("cases", stdin="[]")
    if probe is None:
        print(f"SKIP: {PYTHON} has no pip (Debian's python3-pip)")
        return SKIP
    if not probe["version"].startswith("23.0"):
        print(f"SKIP: the grammar is pip 23.0's; {PYTHON} has pip {probe['version']}")
        return SKIP
    grammar = declared(stdlib_text("pip"), "pip")
    ok = True

    # 1. Declarations.
    actual = pip_side("declarations")
    for scope in sorted(set(actual) | set(grammar)):
        mine = {spelling: kind for spelling, (kind, _) in grammar.get(scope, {}).items()}
        theirs = actual.get(scope)
        if theirs is None:
            print(f"FAIL: the grammar declares subcommand {scope}, which pip does not have")
            ok = False
        elif mine != theirs:
            for spelling in sorted(set(mine) | set(theirs)):
                if mine.get(spelling) != theirs.get(spelling):
                    print(f"FAIL: pip {scope or '(general)'} {spelling}: grammar {mine.get(spelling)}, "
                          f"pip {theirs.get(spelling)}")
            ok = False
    if ok:
        print(f"declarations: the general options and {len(actual) - 1} subcommands agree with pip")

    # 2. Command lines.
    cases = CASES + generated(grammar)
    verdicts = pip_side("cases", stdin=json.dumps(cases))["cases"]
    with tempfile.TemporaryDirectory() as directory:
        ok = grammar_agrees(govc, directory, "pip", "pip", "pip", cases, [v["ok"] for v in verdicts], KNOWN) and ok
        policy, lines = value_policy(cases, verdicts)
        if all_cases_pass(govc, policy, directory, "pip_readings", lines):
            print(f"{lines} accepted command lines: the grammar reads them as pip does")
        else:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

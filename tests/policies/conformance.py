"""What the conformance tests share: Gov literals for generated policies, and running a generated
policy's tests through both engines."""
import os
import re
import subprocess
import sys


def gov_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gov_list(items):
    return "[" + ", ".join(gov_string(a) for a in items) + "]"


def all_cases_pass(govc, policy, directory, name, expected):
    """Writes `policy` to DIRECTORY/NAME.gov and runs its tests natively and interpreted, printing
    govc's report; true when both pass all `expected` cases."""
    policy_file = os.path.join(directory, name + ".gov")
    with open(policy_file, "w") as out:
        out.write(policy)
    passed = True
    for engine in ([], ["--interp"]):
        done = subprocess.run([govc, "test", *engine, policy_file], capture_output=True, text=True)
        print(done.stdout + done.stderr)
        if done.returncode != 0 or f"{expected} cases, {expected} passed" not in done.stdout + done.stderr:
            passed = False
    return passed


def exec_with_env(program, arguments, env, expectation, cwd=None):
    """One `exec` case of a generated test: PROGRAM ARGUMENTS with environment `env` (a dict), and
    its expected verdict (`allow by same`)."""
    env_text = ", ".join(f"{name} = {gov_string(value)}" for name, value in env.items())
    where = f" cwd {gov_string(cwd)}" if cwd else ""
    return f"  exec {gov_list([program, *arguments])}{where} env {{ {env_text} }} => {expectation}\n"


def govc_or_usage(doc):
    """GOVC, the one command-line argument of a conformance script, or None after printing its
    usage (`doc`)."""
    if len(sys.argv) != 2:
        print(doc)
        return None
    return sys.argv[1]


def grammar_agrees(govc, directory, program, module, grammar, cases, accepted, known_differences):
    """Whether std.MODULE's `command GRAMMAR` parses each of `cases` (argument lists) exactly when
    `accepted` (the program's own verdicts, in order) says the program accepts it, natively and
    interpreted; `known_differences` maps a case (a tuple) to the program's verdict where the grammar
    knowingly differs (the expected parse is then the opposite). Prints every disagreement."""
    ok = True
    lines = []
    for arguments, program_accepts in zip(cases, accepted):
        expected = program_accepts
        if tuple(arguments) in known_differences:
            if program_accepts != known_differences[tuple(arguments)]:
                print(f"FAIL: {program} {arguments} is listed as {'accepted' if not program_accepts else 'refused'} "
                      f"by {program}, which {'accepts' if program_accepts else 'refuses'} it")
                ok = False
            expected = not program_accepts
        verdict = f"allow by {program}_parses" if expected else "deny"
        lines.append(f"  exec {gov_list(['/usr/bin/' + program, *arguments])} cwd \"/w\" => {verdict}\n")
    policy = (f"policy {program}_conformance version \"1.0.0\"\n\nimport std.{module}\n\n"
              f"allow {program}_parses when invoked.name == \"{program}\" and {module}.{grammar}(args) != none\n"
              "    with { read = [\"/usr\"] }\n\n"
              f"test \"the grammar agrees with {program}\" {{\n" + "".join(lines) + "}\n")
    passed = all_cases_pass(govc, policy, directory, f"{program}_conformance", len(lines))
    if ok and passed:
        print(f"{len(lines)} command lines: std.{module}'s grammar agrees with {program}")
    return ok and passed


def declared(grammar, command):
    """{scope: {spelling: (kind, value_optional)}} of `command COMMAND { ... }` in `grammar` (a
    module's text); scope "" is the top level, a subcommand's is its written name."""
    body = grammar[grammar.index(f"command {command} {{"):]
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
                scopes[scope][spelling] = (item.group(1), "value optional" in item.group(2))
    return scopes


def pflag_words(spelling, kind, optional, value, form):
    """One occurrence of an option the way pflag reads it, in form `form` (0, 1, 2 taken in turn
    by the callers): a flag bare or given `=false`; an optional value after `=`; a long option's
    value separate or after `=`; a short one's separate, attached or after `=`."""
    if kind == "flag":
        return [spelling + "=false"] if form == 2 else [spelling]
    if optional:
        return [spelling + "=" + value]
    if spelling.startswith("--"):
        return [spelling, value] if form == 0 else [spelling + "=" + value]
    return [[spelling, value], [spelling + value], [spelling + "=" + value]][form]


def stdlib_text(module):
    """The text of stdlib/MODULE.gov ($GOV_STDLIB's when set)."""
    stdlib = os.environ.get("GOV_STDLIB") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                          "stdlib")
    with open(os.path.join(stdlib, module + ".gov")) as f:
        return f.read()

#!/usr/bin/env python3
"""std.python's python grammar against /usr/bin/python3 itself.

Each case is a python3 command line whose program only reports how python read the line: `-c`
runs code that prints its sys.argv, a script is a file that does the same, `-m` runs a module of
this test's that does the same. python refuses a line it cannot read with its usage line before it
runs anything; otherwise the printed argv says which words python left to the program. The grammar
says the same through `python.python(args) != none` under `govc test`, natively and interpreted,
and for every accepted line its `program_arguments` (after `-c CODE` or `-m MODULE`, or the
script and its words) must be python's argv (without argv[0] for the script's, which python
reports as the script).

The grammar is CPython 3.11's: without /usr/bin/python3 3.11 the test is skipped (exit 77).

  python_conformance.py GOVC
"""
import json
import os
import subprocess
import sys
import tempfile

from conformance import all_cases_pass, exec_with_env, govc_or_usage, grammar_agrees

SKIP = 77
PYTHON = "/usr/bin/python3"
REPORT = "import sys, json; print(json.dumps([sys.argv, __spec__ is not None]))"

# Options before the program, as python reads them (each is followed by a program below).
OPTIONS = [
    [], ["-b"], ["-B"], ["-d"], ["-E"], ["-i"], ["-I"], ["-O"], ["-OO"], ["-P"], ["-q"], ["-s"], ["-S"], ["-u"],
    ["-v"], ["-x"], ["-W", "ignore"], ["-Wignore"], ["-X", "dev"], ["-Xutf8"], ["-IB"], ["-IsE"],
    ["--check-hash-based-pycs", "never"], ["--check-hash-based-pycs=always"], ["--check-hash-based-pycs", "often"],
    ["-R"], ["-t"], ["-J"], ["-Z"], ["--nope"], ["--vers"], ["--"], ["-W"],
]


def main():
    govc = govc_or_usage(__doc__)
    if govc is None:
        return 2
    if not os.path.exists(PYTHON):
        print(f"SKIP: {PYTHON} is not installed")
        return SKIP
    version = subprocess.run([PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != "3.11":
        print(f"SKIP: the grammar is CPython 3.11's; {PYTHON} is {version}")
        return SKIP
    with tempfile.TemporaryDirectory() as directory:
        script = os.path.join(directory, "report.py")
        with open(script, "w") as out:
            out.write(REPORT + "\n")
        with open(os.path.join(directory, "govreport.py"), "w") as out:
            out.write(REPORT + "\n")
        programs = [["-c", REPORT], ["-c", REPORT, "-q", "--", "-m", "x"], ["-cpass"], ["-m", "govreport"],
                    ["-m", "govreport", "-I", "x"], ["-mgovreport", "-c"], ["-qm", "govreport"], [script, "-q", "-m"],
                    ["-m"], ["-c"]]
        cases, verdicts, readings = [], [], []
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": directory, "LC_ALL": "C.UTF-8", "HOME": directory}
        for options in OPTIONS:
            for program in programs:
                arguments = [*options, *program]
                done = subprocess.run([PYTHON, *arguments], capture_output=True, text=True, env=env,
                                      stdin=subprocess.DEVNULL, cwd=directory)
                # A line python cannot read gets its usage line (exit 2, as a script it cannot open).
                accepted = "usage:" not in done.stderr
                cases.append(arguments)
                verdicts.append(accepted)
                reading = None
                if done.returncode == 0 and done.stdout.strip().startswith("["):
                    reading = json.loads(done.stdout.strip().splitlines()[-1])
                readings.append(reading)
        # python reads long options in full and their values only as the next word; the grammar
        # also reads an unambiguous abbreviation and `--option=value`.
        known = {tuple([start, *program]): False for program in programs if program not in (["-m"], ["-c"])
                 for start in ("--vers", "--check-hash-based-pycs=always")}
        ok = grammar_agrees(govc, directory, "python3", "python", "python", cases, verdicts, known)

        # The words left to the program, for every line python ran to the end.
        lines = []
        width = 0
        for arguments, reading in zip(cases, readings):
            if reading is None:
                continue
            # argv[0] is "-c" after -c and the module's path after -m: the program's words follow
            # it. A script's argv[0] is the script as written, the first of program_arguments.
            argv, from_module = reading
            expected = argv[1:] if argv[0] == "-c" or from_module else argv
            width = max(width, len(expected))
            env = {f"A{i}": word for i, word in enumerate(expected)}
            env["COUNT"] = "x" * len(expected)
            lines.append(exec_with_env("/usr/bin/python3", arguments, env, "allow by same"))
        rules = ("policy python_readings version \"1.0.0\"\n\nimport std.python\n\n"
                 "deny count_differs when python.python(args) != none and "
                 "len(python.program_arguments(args)) != len(env[\"COUNT\"] ?? \"\")\n")
        rules += "".join(f"deny word{i}_differs when python.python(args) != none and "
                         f"(python.program_arguments(args)[{i}] ?? \"\") != (env[\"A{i}\"] ?? \"\")\n"
                         for i in range(width))
        rules += "\nallow same when python.python(args) != none\n\ntest \"python leaves these words to the program\" {\n"
        rules += "".join(lines) + "}\n"
        if all_cases_pass(govc, rules, directory, "python_readings", len(lines)):
            print(f"{len(lines)} lines python ran: the grammar leaves the program the same words")
        else:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

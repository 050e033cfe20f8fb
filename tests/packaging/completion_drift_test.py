#!/usr/bin/env python3
"""Every subcommand and option a tool's `--help` names appears in each of its
completion files (bash, zsh, fish), so the hand-written completions cannot
fall behind the CLI definitions.

  completion_drift_test.py BIN_DIR COMPLETIONS_DIR

BIN_DIR holds govc, govrun, govverify, govd and govconsole (a build's cli/ or
an installed bin/ + sbin/ joined by ':'). Options are taken from option lines
(a line whose first word is an option: CLI11's `  -h,--help`, govrun's and
govverify's `  --config FILE`, `Options: --lineage-key ...`) and from usage
brackets (`[--quiet]`); subcommands from CLI11's `Subcommands:` section and
from usage lines (`govverify list ...`, `govrun hook claude-code`).
"""
import os
import re
import subprocess
import sys

TOOLS = ["govc", "govrun", "govverify", "govd", "govconsole"]
OPTION = r"--?[A-Za-z][A-Za-z0-9-]*"


def find_tool(bin_dirs, tool):
    for directory in bin_dirs:
        path = os.path.join(directory, tool)
        if os.access(path, os.X_OK):
            return path
    sys.exit(f"{tool}: not found in {bin_dirs}")


def help_text(path, tool, words):
    result = subprocess.run([tool, *words, "--help"], executable=path, capture_output=True, text=True)
    return result.stdout + result.stderr


def options_of(text):
    found = set()
    for line in text.splitlines():
        stripped = re.sub(r"^\s*Options:\s*", "", line).lstrip()
        leading = re.match(rf"{OPTION}(,\s*{OPTION})*(?=[\s=,]|$)", stripped)
        if leading:
            found.update(re.findall(OPTION, leading.group(0)))
        found.update(re.findall(rf"\[({OPTION})", line))
    found.discard("--")
    return found


def subcommands_of(text, tool, words):
    found, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Subcommands:":
            inside = True
            continue
        if inside:
            match = re.match(r"^  ([a-z][a-z0-9-]*)(\s|$)", line)
            if match:
                found.append(match.group(1))
                continue
            if line.strip():
                inside = False
        usage = re.search(rf"(?:^|\s){tool} {' '.join(words)}\s*([a-z][a-z0-9-]*)(?:\s|$)", line)
        if usage and re.match(r"^\s*(usage:|Usage:|{0}\s)".format(tool), line.lstrip() + " ", re.I):
            found.append(usage.group(1))
    return [name for name in dict.fromkeys(found) if name not in words]


def main():
    bin_dirs = sys.argv[1].split(":")
    completions = sys.argv[2]
    failures = 0
    for tool in TOOLS:
        path = find_tool(bin_dirs, tool)
        files = {
            "bash": os.path.join(completions, "bash", tool),
            "zsh": os.path.join(completions, "zsh", "_" + tool),
            "fish": os.path.join(completions, "fish", tool + ".fish"),
        }
        texts = {shell: open(file, encoding="utf-8").read() for shell, file in files.items()}
        expected = {}
        queue = [[]]
        while queue:
            words = queue.pop(0)
            text = help_text(path, tool, words)
            for option in options_of(text):
                expected.setdefault(option, " ".join([tool, *words]))
            if len(words) < 2:
                for sub in subcommands_of(text, tool, words):
                    if sub not in expected:
                        expected[sub] = " ".join([tool, *words])
                        queue.append([*words, sub])
        for word, where in sorted(expected.items()):
            for shell, text in texts.items():
                # fish names long options without dashes (-l NAME) and short ones as -s X.
                if shell == "fish" and word.startswith("--"):
                    present = re.search(rf"-l {re.escape(word[2:])}(\s|$)", text)
                elif shell == "fish" and word.startswith("-"):
                    present = re.search(rf"-s {re.escape(word[1:])}(\s|$)", text)
                else:
                    present = re.search(rf"(?<![A-Za-z0-9-]){re.escape(word)}(?![A-Za-z0-9-])", text)
                if not present:
                    print(f"{files[shell]}: `{word}` (from `{where} --help`) is missing")
                    failures += 1
        print(f"{tool}: {len(expected)} subcommands and options, each in bash, zsh and fish")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

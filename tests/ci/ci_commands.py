#!/usr/bin/env python3
"""Prints the govc commands a CI example runs, one per line, read with a YAML
parser (so a file that is not valid YAML fails the test):

  ci_commands.py github FILE      every `run:` line of every step that starts with `govc `
  ci_commands.py gitlab FILE      every `script:` line of every job that starts with `govc `
  ci_commands.py pre-commit FILE  `ID<TAB>ENTRY` for every hook
"""
import sys

import yaml


def main():
    kind, path = sys.argv[1:3]
    with open(path, encoding="utf-8") as source:
        document = yaml.safe_load(source)
    lines = []
    if kind == "github":
        for job in document["jobs"].values():
            for step in job["steps"]:
                lines += str(step.get("run", "")).splitlines()
    elif kind == "gitlab":
        for job in document.values():
            if isinstance(job, dict) and "script" in job:
                lines += job["script"]
    elif kind == "pre-commit":
        for hook in document:
            print(f"{hook['id']}\t{hook['entry']}")
        return
    else:
        sys.exit(f"unknown kind {kind}")
    for line in lines:
        if line.strip().startswith("govc "):
            print(line.strip())


if __name__ == "__main__":
    main()

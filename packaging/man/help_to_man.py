#!/usr/bin/env python3
"""Writes a tool's man page from its own `--help` text (and each subcommand's).

The page is the help text itself, verbatim in no-fill blocks, so the man page
and `--help` cannot drift: change the CLI definition and the next build writes
the new page. Subcommands are those the help lists under `Subcommands:`
(CLI11) plus any given with --subcommand.

  help_to_man.py --tool BUILD/cli/govc --name govc --section 1 \
      --summary "..." --version 0.1.0 [--subcommand hook]... --output govc.1
"""
import argparse
import os
import re
import subprocess
import sys


def run_help(tool, name, words):
    # argv[0] is the bare name, so the usage lines read `govc ...`, not a build path. In a
    # sanitizer build the page is still written; leaks are the tests' business, not the build's.
    environment = {**os.environ, "NO_COLOR": "1"}
    environment["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    result = subprocess.run([name, *words, "--help"], executable=tool, capture_output=True, text=True,
                            env=environment)
    text = result.stdout if result.stdout.strip() else result.stderr
    if result.returncode != 0 or not text.strip():
        sys.exit(f"help_to_man: `{name} {' '.join(words)} --help` failed ({result.returncode})")
    return text.rstrip("\n")


def listed_subcommands(help_text):
    names, inside = [], False
    for line in help_text.splitlines():
        if line.strip() == "Subcommands:":
            inside = True
        elif inside and re.match(r"^  [a-z][a-z0-9-]*(\s|$)", line):
            names.append(line.split()[0])
        elif inside and line.strip() and not line.startswith("   "):
            inside = False
    return names


def roff_text(text):
    """Text for a no-fill block: roff escapes, ASCII hyphens (`\\-`) for copy and paste,
    and every other non-ASCII character as `\\[uXXXX]` (groff reads ASCII unless preconv runs)."""
    lines = []
    for line in text.splitlines():
        line = line.replace("\\", "\\e").replace("-", "\\-")
        line = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in line)
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--section", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--subcommand", action="append", default=[])
    parser.add_argument("--see-also", action="append", default=[])
    parser.add_argument("--doc", help="its page in docs/ (default: NAME.md)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    main_help = run_help(args.tool, args.name, [])
    subcommands = listed_subcommands(main_help)
    subcommands += [s for s in args.subcommand if s not in subcommands]

    page = [
        f'.\\" Generated from `{args.name} --help` by packaging/man/help_to_man.py; do not edit.',
        f'.TH {args.name.upper()} {args.section} "" "gov {args.version}" "gov manual"',
        ".SH NAME",
        f"{args.name} \\- {roff_text(args.summary)}",
        ".SH DESCRIPTION",
        f"The text of \\fB{args.name} \\-\\-help\\fR:",
        ".PP",
        ".nf",
        roff_text(main_help),
        ".fi",
    ]
    if subcommands:
        page.append(".SH SUBCOMMANDS")
        for sub in subcommands:
            page += [f'.SS "{args.name} {sub}"', ".nf", roff_text(run_help(args.tool, args.name, [sub])), ".fi"]
    page += [
        ".SH SEE ALSO",
        f"docs/{args.doc or args.name + '.md'} in gov's documentation (\\fI/usr/share/doc/gov\\fR in the Debian"
        " package) describes " + args.name + " in full.",
        ".PP",
        ", ".join(f"\\fB{other}\\fR({section})" for other, section in
                  (entry.split(":") for entry in args.see_also)),
    ]
    with open(args.output + ".tmp", "w", encoding="utf-8") as out:
        out.write("\n".join(page) + "\n")
    os.replace(args.output + ".tmp", args.output)


if __name__ == "__main__":
    main()

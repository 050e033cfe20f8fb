#!/usr/bin/env python3
"""Runs README.md's five-minute tour from the README text itself.

Every ```sh block of the section "## A five-minute tour" runs, in order, in one
bash shell with `set -euo pipefail`, exactly as written except for two
substitutions: the tour's directory (/tmp/gov-tour) becomes a fresh temporary
directory, and `$PWD/build/release/cli` becomes the build under test. A command
whose comment reads `# govrun: deny ...` must exit 77 and print that text. After
the tour, the files its steps promise must exist (the directory the denied `rm`
aimed at among them). So the tour cannot drift from what the tools do.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

TOUR_DIR = "/tmp/gov-tour"
TOUR_BIN = "$PWD/build/release/cli"
DENY_MARK = "# govrun: deny"


def tour_blocks(readme_text):
    """The ```sh blocks of the tour section, as lists of lines."""
    start = readme_text.index("## A five-minute tour")
    end = readme_text.find("\n## ", start + 1)
    section = readme_text[start:end if end >= 0 else len(readme_text)]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    if not blocks:
        sys.exit("tour: no ```sh block in the tour section of README.md")
    return [block.splitlines() for block in blocks]


def expect_deny(command, expected):
    """Bash lines that run `command`, requiring exit 77 and `expected` on stderr."""
    quoted_command = shlex.quote(command)
    quoted_expected = shlex.quote(expected)
    return "\n".join([
        "set +e",
        f'{command} 2>"$tour_err"',
        "tour_rc=$?",
        "set -e",
        'cat "$tour_err" >&2',
        f'[ "$tour_rc" -eq 77 ] || {{ echo "tour: expected exit 77 from "{quoted_command}", got $tour_rc" >&2; exit 1; }}',
        f'grep -qF -- {quoted_expected} "$tour_err" || '
        f'{{ echo "tour: expected on stderr: "{quoted_expected} >&2; exit 1; }}',
    ])


def script_for(blocks, bin_dir, work_dir):
    """One bash script running every block, with the substitutions."""
    lines = ["set -euo pipefail", f"tour_err={shlex.quote(os.path.join(work_dir, '.tour-stderr'))}"]
    for block in blocks:
        heredoc_end = None
        pending = ""
        for raw in block:
            line = raw.replace(TOUR_BIN, bin_dir).replace(TOUR_DIR, work_dir)
            if heredoc_end is not None:
                lines.append(line)
                if line == heredoc_end:
                    heredoc_end = None
                continue
            if line.endswith("\\"):
                pending += line[:-1]
                continue
            line, pending = pending + line, ""
            lines.append(f"echo {shlex.quote('$ ' + line)} >&2")
            heredoc = re.search(r"<<'(\w+)'", line)
            if heredoc:
                heredoc_end = heredoc.group(1)
                lines.append(line)
            elif DENY_MARK in line:
                command, _, comment = line.partition(DENY_MARK)
                lines.append(expect_deny(command.strip(), "govrun: deny" + comment.rstrip()))
            else:
                lines.append(line)
        if heredoc_end is not None or pending:
            sys.exit("tour: a block ends inside a here-document or a continued line")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", required=True)
    parser.add_argument("--bin", required=True, help="the directory holding govc, govrun, govverify")
    args = parser.parse_args()
    with open(args.readme, encoding="utf-8") as f:
        blocks = tour_blocks(f.read())
    # The tour's directory becomes one of the same length (/tmp/ and 8 characters),
    # so that the policy's layout, which `govc fmt --check` checks, does not change.
    with tempfile.TemporaryDirectory(prefix="", dir="/tmp") as work_dir, \
            tempfile.TemporaryDirectory(prefix="gov-tour-home-") as home:
        if len(work_dir) != len(TOUR_DIR):
            sys.exit(f"tour: {work_dir} is not as long as {TOUR_DIR}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOV_")}
        env["HOME"] = home  # no ~/.config/gov of the machine's user
        script = script_for(blocks, os.path.abspath(args.bin), work_dir)
        result = subprocess.run(["bash", "-c", script], cwd=home, env=env, timeout=600)
        if result.returncode != 0:
            print(f"tour: the README's commands failed (exit {result.returncode}); script:\n{script}",
                  file=sys.stderr)
            return 1
        promised = ["agent.gov", "req.json", "ops.key", "ops.pub", "agent.govb", "lineage.key",
                    "lineage.pub", "config.toml", "run.lineage", "run.html", "keep", "repo/Makefile"]
        missing = [name for name in promised if not os.path.exists(os.path.join(work_dir, name))]
        if missing:
            print(f"tour: ran, but these files are missing: {missing}", file=sys.stderr)
            return 1
        if not os.listdir(os.path.join(work_dir, "lineage")):
            print("tour: the lineage directory is empty after governed runs", file=sys.stderr)
            return 1
    print(f"tour: {sum(len(b) for b in blocks)} lines of {len(blocks)} blocks ran as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

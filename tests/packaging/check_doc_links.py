#!/usr/bin/env python3
"""Every relative Markdown link in an installed documentation tree resolves to
a file or folder inside the install tree (issue 18 §1: the installed docs link
to nothing that is not installed).

  check_doc_links.py DOC_DIR TREE_ROOT

Checks inline links and images, `[text](target)` and `![alt](target)`, outside
code spans and fenced code blocks; skips URLs with a scheme and links to an
anchor of the same page. Exit 1 and one line per broken link, else 0.
"""
import os
import re
import sys
import urllib.parse

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links_of(text):
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\s*(```|~~~)", line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        line = re.sub(r"(`+).*?\1", "", line)
        for match in LINK.finditer(line):
            yield number, match.group(1)


def main():
    doc_dir, root = (os.path.realpath(path) for path in sys.argv[1:3])
    broken = checked = 0
    for folder, _, files in os.walk(doc_dir):
        for name in sorted(files):
            if not name.endswith(".md"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as source:
                text = source.read()
            for number, target in links_of(text):
                if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
                    continue
                checked += 1
                file_part = urllib.parse.unquote(target.split("#", 1)[0])
                resolved = os.path.realpath(os.path.join(folder, file_part))
                inside = resolved == root or resolved.startswith(root + os.sep)
                if not inside or not os.path.exists(resolved):
                    where = "outside the install tree" if not inside else "not installed"
                    print(f"{os.path.relpath(path, root)}:{number}: link to `{target}`: {where}")
                    broken += 1
    print(f"{checked} relative links checked, {broken} broken")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()

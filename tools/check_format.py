#!/usr/bin/env python3
"""Checks that wisp's C and C++ sources are formatted by .clang-format, one TAP case per
top-level directory (include, tests, examples, bench).

Usage: check_format.py [--root DIR] [--clang-format PATH] [--fix]
  --fix   formats the files in place instead (then commit the result on its own).
The generated single header and third-party trees (tests/node) are not checked. Formatting
differs between clang-format releases, so the check runs with major version 14 (Debian 12)
and reports a skip with any other.
"""
import argparse
import os
import re
import subprocess
import sys

EXTENSIONS = (".hpp", ".cpp", ".h", ".c")
DIRS = ("include", "tests", "examples", "bench")
SKIP = ("single_header", os.path.join("tests", "node"), "build")
VERSION = 14


def sources(root, top):
    out = []
    for base, dirs, files in os.walk(os.path.join(root, top)):
        rel = os.path.relpath(base, root)
        dirs[:] = sorted(d for d in dirs
                         if not any(os.path.join(rel, d).startswith(s) for s in SKIP)
                         and not d.startswith("."))
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(EXTENSIONS)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--clang-format", default="clang-format")
    ap.add_argument("--fix", action="store_true")
    a = ap.parse_args()
    root = os.path.abspath(a.root)

    try:
        v = subprocess.run([a.clang_format, "--version"], capture_output=True, text=True).stdout
    except OSError:
        v = ""
    m = re.search(r"version (\d+)", v)
    if not m or int(m.group(1)) != VERSION:
        found = m.group(0) if m else "no clang-format"
        if a.fix:
            sys.exit(f"check_format: needs clang-format {VERSION} (Debian 12's), found {found}")
        print(f"1..0 # SKIP needs clang-format {VERSION} (Debian 12's), found {found}")
        return 0

    tops = [t for t in DIRS if os.path.isdir(os.path.join(root, t))]
    if a.fix:
        for top in tops:
            files = sources(root, top)
            if files:
                subprocess.run([a.clang_format, "-i", "--style=file", *files], check=True)
        return 0

    print(f"1..{len(tops)}", flush=True)
    failed = 0
    for n, top in enumerate(tops, 1):
        files = sources(root, top)
        r = subprocess.run([a.clang_format, "--dry-run", "--Werror", "--style=file", *files],
                           capture_output=True, text=True, cwd=root)
        ok = r.returncode == 0
        print(f"{'ok' if ok else 'not ok'} {n} - {top}/: {len(files)} files as .clang-format lays "
              f"them out", flush=True)
        if not ok:
            failed += 1
            bad = sorted({os.path.relpath(l.split(":")[0], root) for l in r.stderr.splitlines()
                          if ": error:" in l})
            for f in bad[:40]:
                print(f"#   {f}")
            print("# fix: python3 tools/check_format.py --fix (clang-format 14), then commit")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

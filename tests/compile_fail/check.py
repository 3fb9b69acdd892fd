#!/usr/bin/env python3
"""Compile-fail tests: each file's first line says `// expect: <sentence>` (or OK). The file
must fail to compile with that sentence in the diagnostics (or compile, for OK). A long
sentence continues on the next lines, each starting with `//` and at least two spaces; the
pieces are joined with one space. One TAP case per file.
Usage: check.py --cxx CXX [--flag F]... FILE..."""
import argparse
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--flag", action="append", default=[])
ap.add_argument("files", nargs="+")
a = ap.parse_args()
print(f"1..{len(a.files)}")
failed = 0
for i, path in enumerate(a.files, 1):
    with open(path, encoding="utf-8") as f:
        expect = f.readline().split("expect:", 1)[1].strip()
        for line in f:
            if not line.startswith("//  "):
                break
            expect += " " + line[2:].strip()
    r = subprocess.run([a.cxx, "-fsyntax-only", *a.flag, path], capture_output=True, text=True)
    if expect == "OK":
        ok = r.returncode == 0
        why = r.stderr[-2000:]
    else:
        ok = r.returncode != 0 and expect in r.stderr
        why = "compiled" if r.returncode == 0 else "message not found in:\n" + r.stderr[:3000]
    print(f"{'ok' if ok else 'not ok'} {i} - {path.rsplit('/', 1)[-1]}")
    if not ok:
        failed += 1
        for line in why.splitlines():
            print("# " + line)
sys.exit(1 if failed else 0)

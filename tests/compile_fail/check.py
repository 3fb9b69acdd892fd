#!/usr/bin/env python3
"""Compile-fail tests: each file's first line says `// expect: <sentence>` (or OK). The file
must fail to compile with that sentence in the diagnostics (or compile, for OK). A long
sentence continues on the next lines, each starting with `//` and at least two spaces; the
pieces are joined with one space. One TAP case per file.
With --pch HEADER and g++, HEADER is precompiled once with the same flags and every file is
checked with it forced in first (the files include it too; its include guard makes that a
no-op), which halves each check. Without g++, or when the precompiled header cannot be made,
each file is checked alone.
Usage: check.py --cxx CXX [--flag F]... [--pch HEADER] FILE..."""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--flag", action="append", default=[])
ap.add_argument("--pch", help="a header every file includes, e.g. wisp/app.hpp")
ap.add_argument("files", nargs="+")
a = ap.parse_args()

work = tempfile.mkdtemp(prefix="wisp-compile-fail-")
force = []
if a.pch:
    version = subprocess.run([a.cxx, "--version"], capture_output=True, text=True).stdout
    if "clang" not in version and "Free Software Foundation" in version:
        pch = os.path.join(work, "pch.hpp")
        with open(pch, "w", encoding="utf-8") as f:
            f.write(f"#include <{a.pch}>\n")
        r = subprocess.run([a.cxx, "-x", "c++-header", *a.flag, pch, "-o", pch + ".gch"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            force = ["-include", pch, "-Winvalid-pch"]
        else:
            print("# no precompiled header, each file alone:\n# " + r.stderr[:500])


def check(path):
    with open(path, encoding="utf-8") as f:
        expect = f.readline().split("expect:", 1)[1].strip()
        for line in f:
            if not line.startswith("//  "):
                break
            expect += " " + line[2:].strip()
    r = subprocess.run([a.cxx, "-fsyntax-only", *force, *a.flag, path], capture_output=True,
                       text=True)
    if expect == "OK":
        return r.returncode == 0, r.stderr[-2000:]
    ok = r.returncode != 0 and expect in r.stderr
    return ok, "compiled" if r.returncode == 0 else "message not found in:\n" + r.stderr[:3000]


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(check, a.files))
shutil.rmtree(work, ignore_errors=True)
print(f"1..{len(a.files)}")
failed = 0
for i, (path, (ok, why)) in enumerate(zip(a.files, results), 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {path.rsplit('/', 1)[-1]}")
    if not ok:
        failed += 1
        for line in why.splitlines():
            print("# " + line)
sys.exit(1 if failed else 0)

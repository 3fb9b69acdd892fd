#!/usr/bin/env python3
"""wisp's own code is warning-free under the strict set (-Wall -Wextra -Wpedantic -Wshadow
-Wconversion -Werror) in every language mode given: each source (the examples and a translation
unit that includes every header) is compiled once per --std. Asio, llhttp, doctest and nlohmann
come from system include directories, so their warnings stay out. TAP output.
Usage: check_strict.py --cxx CXX [--cxx CXX2] --std c++17 --std c++20 [--flag F]... SOURCE..."""
import argparse
import concurrent.futures
import os
import subprocess
import sys

STRICT = ["-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Wconversion", "-Werror"]

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", action="append", required=True)
ap.add_argument("--std", action="append", required=True)
ap.add_argument("--flag", action="append", default=[])
ap.add_argument("sources", nargs="+")
a = ap.parse_args()

cases = [(cxx, std, src) for cxx in a.cxx for std in a.std for src in a.sources]


def compile_one(case):
    cxx, std, src = case
    r = subprocess.run([cxx, f"-std={std}", "-fsyntax-only", *STRICT, *a.flag, src],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(compile_one, cases))

print(f"1..{len(cases)}")
failed = 0
for i, ((cxx, std, src), (ok, err)) in enumerate(zip(cases, results), 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {os.path.basename(src)} {os.path.basename(cxx)} -std={std}"
          " strict warnings")
    if not ok:
        failed += 1
        for line in err[:3000].splitlines():
            print("# " + line)
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Every wisp symbol a program defines sits in a versioned namespace (wisp::v<major>_<minor>),
so two vendored copies of different versions cannot collide at link time. Reads `nm -C`.
TAP output. Usage: check_symbols.py PROGRAM [--nm NM]"""
import argparse
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("program")
ap.add_argument("--nm", default="nm")
a = ap.parse_args()

out = subprocess.run([a.nm, "-C", "--defined-only", a.program], capture_output=True, text=True,
                     check=True).stdout
wisp_symbols, loose = 0, []
versions = set()
for line in out.splitlines():
    if "wisp::" not in line:
        continue
    wisp_symbols += 1
    for m in re.finditer(r"\bwisp::(\w+)", line):
        if re.fullmatch(r"v\d+_\d+", m.group(1)):
            versions.add(m.group(1))
        else:
            loose.append(line)
            break

print("1..2")
ok = wisp_symbols > 0 and not loose
print(f"{'ok' if ok else 'not ok'} 1 - all {wisp_symbols} wisp symbols are in a versioned namespace")
for line in loose[:20]:
    print("# outside: " + line)
ok2 = len(versions) >= 2
print(f"{'ok' if ok2 else 'not ok'} 2 - the program holds {len(versions)} wisp versions: "
      + ", ".join(sorted(versions)))
sys.exit(0 if ok and ok2 else 1)

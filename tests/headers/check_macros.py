#!/usr/bin/env python3
"""The single header leaves only documented macros behind: of every macro include/wisp defines,
a translation unit that includes the single header still sees only the WISP_* switches of
<wisp/config.hpp> and the Asio configuration macros wisp sets for Asio (which must stay, so a
later Asio include sees the same configuration). Checked with and without exceptions, with
WISP_JSON, (--tls) with WISP_TLS and (--redis) with WISP_REDIS. And each of those macros is documented in the comment that opens <wisp/config.hpp>.
TAP output.
Usage: check_macros.py --cxx CXX --header SINGLE_HEADER --include INCLUDE_DIR [--flag F]..."""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from single_header import PUBLIC_MACROS  # noqa: E402

ASIO_CONFIG = {"ASIO_STANDALONE", "ASIO_NO_DEPRECATED", "ASIO_NO_EXCEPTIONS", "ASIO_NO_TYPEID"}

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--header", required=True)
ap.add_argument("--include", required=True)
ap.add_argument("--flag", action="append", default=[])
ap.add_argument("--tls", action="store_true", help="OpenSSL is there: check WISP_TLS too")
ap.add_argument("--redis", action="store_true", help="hiredis is there: check WISP_REDIS too")
a = ap.parse_args()

ours = set()
for base, _dirs, files in os.walk(os.path.join(a.include, "wisp")):
    for f in files:
        with open(os.path.join(base, f), encoding="utf-8") as fh:
            for line in fh:
                m = re.match(r"\s*#\s*define\s+([A-Za-z_]\w*)", line)
                if m:
                    ours.add(m.group(1))

config = open(os.path.join(a.include, "wisp", "config.hpp"), encoding="utf-8").read()
header_comment = config.split("#pragma once")[0]
undocumented = sorted(m for m in PUBLIC_MACROS | ASIO_CONFIG if m not in header_comment)

cases = [("default", []), ("-fno-exceptions -fno-rtti", ["-fno-exceptions", "-fno-rtti"]),
         ("WISP_JSON", ["-DWISP_JSON=1"])] + ([("WISP_TLS", ["-DWISP_TLS=1"])] if a.tls else []) \
    + ([("WISP_REDIS", ["-DWISP_REDIS=1"])] if a.redis else [])
print(f"1..{len(cases) + 1}")
failed = 0
for i, (name, extra) in enumerate(cases, 1):
    r = subprocess.run([a.cxx, "-x", "c++", "-std=c++17", "-E", "-dM", *a.flag, *extra, "-"],
                       input=f'#include "{a.header}"\n', capture_output=True, text=True)
    if r.returncode != 0:
        print(f"not ok {i} - macros after the single header ({name}): preprocessing failed")
        for line in r.stderr.splitlines()[:20]:
            print("# " + line)
        failed += 1
        continue
    defined = {m.group(1) for m in re.finditer(r"^#define (\w+)", r.stdout, re.M)}
    leaked = sorted((defined & ours) - PUBLIC_MACROS - ASIO_CONFIG)
    ok = not leaked and "WISP_VERSION_STRING" in defined
    print(f"{'ok' if ok else 'not ok'} {i} - only documented macros remain after the single header"
          f" ({name}): {len(defined & ours)} of wisp's {len(ours)}")
    for m in leaked:
        print(f"# leaked: {m}")
    failed += not ok
n = len(cases) + 1
print(f"{'not ok' if undocumented else 'ok'} {n} - every public macro is documented at the top of "
      "<wisp/config.hpp>")
for m in undocumented:
    print(f"# undocumented: {m}")
failed += bool(undocumented)
sys.exit(1 if failed else 0)

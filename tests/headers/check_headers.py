#!/usr/bin/env python3
"""Every header under include/wisp compiles alone: one translation unit per header (and
<wisp/json.hpp> once more with WISP_JSON defined, and the TLS headers with WISP_TLS), warning-free with the flags given. A header
that leans on an include it does not make fails here. TAP output.
Usage: check_headers.py --cxx CXX --include DIR [--json] [--flag F]..."""
import argparse
import concurrent.futures
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--include", required=True, help="the include/ directory")
ap.add_argument("--flag", action="append", default=[])
ap.add_argument("--json", action="store_true", help="nlohmann/json is there: check WISP_JSON too")
ap.add_argument("--detail-only", action="store_true",
                help="only include/wisp/detail: the public headers are built alone, with the same "
                     "flags and linked, by check_public_link.py")
ap.add_argument("--tls", action="store_true", help="OpenSSL is there: check WISP_TLS too")
ap.add_argument("--redis", action="store_true", help="hiredis is there: check WISP_REDIS too")
a = ap.parse_args()

headers = []
for base, _dirs, files in os.walk(os.path.join(a.include, "wisp")):
    for f in files:
        if f.endswith(".hpp"):
            headers.append(os.path.relpath(os.path.join(base, f), a.include).replace(os.sep, "/"))
headers.sort()
if a.detail_only:
    headers = [h for h in headers if h.startswith("wisp/detail/")]
cases = [(h, []) for h in headers] + ([("wisp/json.hpp", ["-DWISP_JSON=1"])] if a.json and not a.detail_only else [])
# With WISP_TLS, the headers whose code it switches on, alone again.
TLS_HEADERS = ["wisp/tls.hpp", "wisp/detail/tls_context.hpp", "wisp/detail/tls_transport.hpp",
               "wisp/app.hpp", "wisp/wisp.hpp"]
cases += [(h, ["-DWISP_TLS=1"]) for h in TLS_HEADERS if h in headers] if a.tls else []
# With WISP_REDIS, the Redis bridge's headers alone again.
REDIS_HEADERS = ["wisp/redis.hpp", "wisp/detail/redis_protocol.hpp", "wisp/detail/redis_link.hpp",
                 "wisp/detail/redis_topics.hpp",
                 "wisp/wisp.hpp"]
cases += [(h, ["-DWISP_REDIS=1"]) for h in REDIS_HEADERS if h in headers] if a.redis else []


def compile_one(case):
    header, extra = case
    src = f"#include <{header}>\n"
    r = subprocess.run([a.cxx, "-x", "c++", "-fsyntax-only", f"-I{a.include}", *a.flag, *extra, "-"],
                       input=src, capture_output=True, text=True)
    return r.returncode == 0, r.stderr


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(compile_one, cases))

print(f"1..{len(cases)}")
failed = 0
for i, ((header, extra), (ok, err)) in enumerate(zip(cases, results), 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {header} alone{' ' + ' '.join(extra) if extra else ''}")
    if not ok:
        failed += 1
        for line in err[:3000].splitlines():
            print("# " + line)
sys.exit(1 if failed else 0)

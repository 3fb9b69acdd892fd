#!/usr/bin/env python3
"""The single header stays usable where there is no OpenSSL and no hiredis: preprocessed without
WISP_TLS it opens no OpenSSL header, so it builds without libssl-dev; without WISP_REDIS no
hiredis header, so it builds without libhiredis-dev. Every header opened is listed by the
preprocessor (-H), so a stray #include anywhere shows up. TAP output.
Usage: check_no_openssl.py --cxx CXX --header SINGLE_HEADER [--flag F]..."""
import argparse
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--header", required=True)
ap.add_argument("--flag", action="append", default=[])
a = ap.parse_args()


def opened(extra):
    r = subprocess.run([a.cxx, "-x", "c++", "-std=c++17", "-H", "-E", "-o", "/dev/null", *a.flag,
                        *extra, "-"], input=f'#include "{a.header}"\n', capture_output=True,
                       text=True)
    heads = [line.lstrip(". ").strip() for line in r.stderr.splitlines() if re.match(r"^\.+ ", line)]
    return r.returncode, r.stderr, heads


print("1..2")
rc, err, heads = opened([])
ssl = [h for h in heads if "/openssl/" in h]
# llhttp.h: the header was read (every engine includes it; Asio only where the loop runs on it)
ok = rc == 0 and not ssl and any("llhttp.h" in h for h in heads)
print(f"{'ok' if ok else 'not ok'} 1 - without WISP_TLS the single header opens no OpenSSL header"
      f" ({len(heads)} headers opened)")
if rc != 0:
    for line in err.splitlines()[:20]:
        print("# " + line)
for h in ssl[:10]:
    print("# opened: " + h)
redis = [h for h in heads if "/hiredis/" in h]
ok2 = rc == 0 and not redis
print(f"{'ok' if ok2 else 'not ok'} 2 - without WISP_REDIS the single header opens no hiredis header")
for h in redis[:10]:
    print("# opened: " + h)
sys.exit(0 if ok and ok2 else 1)

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes DIR hold a symlink to each PATH (a header or a header directory), named by its
basename, and nothing else: a cross compiler given -isystem DIR sees exactly those headers
of the build machine (tools/cross/*.ini: borrowed_headers).
Usage: borrow_headers.py DIR PATH..."""
import os
import sys


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    dest, paths = argv[0], argv[1:]
    os.makedirs(dest, exist_ok=True)
    wanted = {}
    for p in paths:
        if not os.path.exists(p):
            sys.exit(f"borrow_headers.py: {p} does not exist")
        wanted[os.path.basename(p.rstrip("/"))] = os.path.abspath(p)
    for name in os.listdir(dest):   # links left over from a previous list
        full = os.path.join(dest, name)
        if name not in wanted and os.path.islink(full):
            os.unlink(full)
    for name, target in wanted.items():
        link = os.path.join(dest, name)
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)


if __name__ == "__main__":
    main(sys.argv[1:])

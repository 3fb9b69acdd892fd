#!/usr/bin/env python3
"""Generate single_header/wisp.hpp from include/wisp/.

    tools/single_header.py                 regenerate single_header/wisp.hpp
    tools/single_header.py --check         exit 1 if the committed copy is stale or a header
                                           breaks a rule of the tree (see check_tree)
    tools/single_header.py --output F      write the generated header to F
    tools/single_header.py --list-inputs   print the headers it reads (for the build)
    tools/single_header.py --shims DIR H   write DIR/wisp/<every header>, each including only H
                                           (the single header), so code written against
                                           include/ compiles against the single header

Files are ordered by the include graph (depth-first from include/wisp/wisp.hpp, in the order
each file includes them); an include cycle is an error. `#pragma once` and `#include <wisp/...>`
lines are dropped, a `// ---- wisp/x.hpp ----` marker starts each file, and internal macros are
#undef'd at the end so only the documented WISP_* switches remain. No timestamps: the same tree
always gives the same bytes.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(ROOT, "include")
UMBRELLA = "wisp/wisp.hpp"
COMMITTED = os.path.join(ROOT, "single_header", "wisp.hpp")

# Macros a user may see or set; every other macro wisp defines is #undef'd at the end.
PUBLIC_MACROS = {
    "WISP_VERSION_MAJOR", "WISP_VERSION_MINOR", "WISP_VERSION_PATCH", "WISP_VERSION_STRING",
    "WISP_NO_EXCEPTIONS", "WISP_SINGLE_HEADER", "WISP_JSON", "WISP_CUSTOM_ASIO_THROW",
    "WISP_TLS",
    "WISP_DEFLATE",
    "WISP_REDIS",
    "WISP_COMPILE_ONCE",
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*<(wisp/[^>]+)>')
# Lines a header has only for the include/ tree: the WISP_IN_HEADER guard (config.hpp says why)
# and the `// wisp: definitions` tail that brings the engine in. The single header orders every
# file once, so it drops them; a definitions include is visited after its file (not before), so
# it makes no include cycle.
GUARD_RE = re.compile(r'^\s*#\s*(pragma\s+(push|pop)_macro\("WISP_IN_HEADER"\)|undef\s+WISP_IN_HEADER|'
                      r'define\s+WISP_IN_HEADER\b)')
DEFINITIONS_MARK = "// wisp: definitions"
DEFINE_RE = re.compile(r'^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)')
# The one condition a public header's definitions tail may have: the engine comes in at the end
# of the outermost wisp header only, and not in a compile-once file (config.hpp).
DEFINITIONS_FENCE = "#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)"
# No header under include/ may be longer: past it, a header is split by concept, each part with
# its own first comment (what it owns, what it must not know).
MAX_HEADER_LINES = 600
PRAGMA_ONCE_RE = re.compile(r'^\s*#\s*pragma\s+once\s*$')


def is_definitions_line(line):
    """A line of a `// wisp: definitions` tail: a directive carrying the mark (a comment that
    only mentions the mark, as config.hpp's does, is kept like any other)."""
    return DEFINITIONS_MARK in line and line.lstrip().startswith("#")


def all_headers():
    out = []
    for base, _dirs, files in os.walk(os.path.join(INCLUDE, "wisp")):
        for f in files:
            if f.endswith(".hpp"):
                out.append(os.path.relpath(os.path.join(base, f), INCLUDE).replace(os.sep, "/"))
    return sorted(out)


def read(rel):
    with open(os.path.join(INCLUDE, rel), encoding="utf-8") as f:
        return f.read().splitlines()


def definitions_problem(rel):
    """Why the `// wisp: definitions` tail of `rel` is malformed, or None. The tail is the
    directive lines carrying the mark (a comment that only mentions it is not): the fence,
    then `#include <wisp/...>` lines, then `#endif`, one after the other."""
    lines = read(rel)
    marked = [(n, line.split("//", 1)[0].strip()) for n, line in enumerate(lines, 1)
              if is_definitions_line(line)]
    if not marked:
        return None
    first, code = marked[0]
    if code != DEFINITIONS_FENCE:
        return (f"line {first} opens the `{DEFINITIONS_MARK}` tail with `{code}`; it must be "
                f"exactly `{DEFINITIONS_FENCE}`")
    if [n for n, _ in marked] != list(range(first, first + len(marked))):
        return f"the `{DEFINITIONS_MARK}` lines from line {first} are not one block"
    if len(marked) < 3 or marked[-1][1] != "#endif" or \
            not all(INCLUDE_RE.match(c) for _, c in marked[1:-1]):
        return (f"the `{DEFINITIONS_MARK}` tail at line {first} must be the fence, "
                f"`#include <wisp/...>` lines, then `#endif`")
    return None


def check_tree():
    """The rules every header keeps; returns one message per broken rule, naming the files."""
    problems = []
    for rel in all_headers():
        if "/" not in rel[len("wisp/"):]:   # a public header, include/wisp/*.hpp
            why = definitions_problem(rel)
            if why:
                problems.append(f"include/{rel}: {why}")
    long = []
    for base, _dirs, files in os.walk(INCLUDE):
        for f in files:
            if f.endswith((".hpp", ".h")):
                path = os.path.join(base, f)
                with open(path, encoding="utf-8") as fh:
                    n = len(fh.read().splitlines())
                if n > MAX_HEADER_LINES:
                    long.append(f"{os.path.relpath(path, ROOT).replace(os.sep, '/')} ({n})")
    if long:
        problems.append(f"headers over {MAX_HEADER_LINES} lines (split them by concept): "
                        + ", ".join(sorted(long)))
    return problems


def order():
    """Depth-first post-order from the umbrella; raises on a cycle or a missing file."""
    seen, stack, out = set(), [], []

    # A header's definitions include (DEFINITIONS_MARK) takes effect at the end of the
    # outermost wisp header only (WISP_IN_HEADER is set inside any other), so visit() hands it
    # up to the umbrella, and the engine they bring in follows every declaration: the part a
    # compile-once file (WISP_COMPILE_ONCE without WISP_IMPLEMENTATION) leaves out.
    def visit(rel):
        if rel in seen:
            return []
        if rel in stack:
            cycle = " -> ".join(stack[stack.index(rel):] + [rel])
            raise SystemExit(f"single_header.py: include cycle: {cycle}")
        if not os.path.isfile(os.path.join(INCLUDE, rel)):
            raise SystemExit(f"single_header.py: {stack[-1] if stack else '?'} includes missing <{rel}>")
        stack.append(rel)
        late = []
        for line in read(rel):
            m = INCLUDE_RE.match(line)
            if m and is_definitions_line(line):
                late.append(m.group(1))
            elif m:
                late += visit(m.group(1))
        stack.pop()
        seen.add(rel)
        out.append(rel)
        return late

    late = visit(UMBRELLA)
    engine = len(out)   # the declarations end here; the engine (definitions) follows
    for dep in late:
        visit(dep)
    missing = [h for h in all_headers() if h not in seen]
    if missing:
        raise SystemExit("single_header.py: not reachable from <wisp/wisp.hpp>: " + ", ".join(missing))
    return out, engine


def generate():
    files, engine = order()
    body, macros = [], []
    for i, rel in enumerate(files):
        if i == engine:
            body += ["// ---- the engine: header-only, or the file with WISP_IMPLEMENTATION ----",
                     "#ifdef WISP_WITH_ENGINE", ""]
        body.append(f"// ---- {rel} ----")
        for line in read(rel):
            if (PRAGMA_ONCE_RE.match(line) or INCLUDE_RE.match(line) or GUARD_RE.match(line)
                    or is_definitions_line(line)):
                continue
            m = DEFINE_RE.match(line)
            if (m and m.group(1).startswith("WISP_") and m.group(1) not in PUBLIC_MACROS
                    and m.group(1) not in macros):
                macros.append(m.group(1))
            body.append(line)
        body.append("")
    if engine < len(files):
        body += ["#endif   // WISP_WITH_ENGINE", ""]
    version = re.search(r'#define WISP_VERSION_STRING "([^"]+)"', "\n".join(read("wisp/config.hpp"))).group(1)
    head = [
        "// SPDX-License-Identifier: MIT",
        f"// wisp {version} — single-header edition.",
        "// GENERATED by tools/single_header.py from include/wisp/; do not edit by hand.",
        "// Needs: C++17, standalone Asio headers, and llhttp linked in (see README.md).",
        "#pragma once",
        "#ifndef WISP_SINGLE_HEADER",
        "#define WISP_SINGLE_HEADER 1",
        "#endif",
        "",
    ]
    tail = ["// ---- internal macros end here ----"] + [f"#undef {m}" for m in sorted(macros)]
    return "\n".join(head + body + tail) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--output")
    ap.add_argument("--list-inputs", action="store_true")
    ap.add_argument("--shims", nargs=2, metavar=("DIR", "HEADER"))
    a = ap.parse_args()
    if a.list_inputs:
        print("\n".join(os.path.join(INCLUDE, h) for h in all_headers()))
        return 0
    if a.shims:
        shim_dir, header = a.shims
        header = os.path.abspath(header).replace(os.sep, "/")
        for rel in all_headers():
            path = os.path.join(shim_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = f'// GENERATED by tools/single_header.py --shims: <{rel}> is the single header.\n' \
                   f'#include "{header}"\n'
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        return 0
    text = generate()
    if a.check:
        failed = False
        for problem in check_tree():
            print(f"single_header.py: {problem}", file=sys.stderr)
            failed = True
        try:
            with open(COMMITTED, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print("single_header/wisp.hpp is stale: regenerate it with `python3 tools/single_header.py` "
                  "and commit the result.", file=sys.stderr)
            return 1
        print("single_header/wisp.hpp is up to date")
        return 1 if failed else 0
    target = a.output or COMMITTED
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

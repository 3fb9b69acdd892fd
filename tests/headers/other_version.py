#!/usr/bin/env python3
"""Makes a copy of the single header that claims another version (0.99.0, namespace
wisp::v0_99), as a second library vendoring a different wisp would carry. One inline function
behaves differently too (wisp::text's Content-Type gains `; wisp=0.99`), so a linker merging the
two copies' inline functions shows in the responses.
Usage: other_version.py IN OUT"""
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
swaps = [("inline namespace v0_1 {", "inline namespace v0_99 {"),
         ("#define WISP_VERSION_MINOR 1\n", "#define WISP_VERSION_MINOR 99\n"),
         ('#define WISP_VERSION_STRING "0.1.0"', '#define WISP_VERSION_STRING "0.99.0"'),
         ('typed_response(status, body, "text/plain; charset=utf-8");',
          'typed_response(status, body, "text/plain; charset=utf-8; wisp=0.99");')]
for old, new in swaps:
    if old not in text:
        sys.exit(f"other_version.py: {old!r} not found in {src}: update the test with the version")
    text = text.replace(old, new)
open(dst, "w", encoding="utf-8").write(text)

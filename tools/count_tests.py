#!/usr/bin/env python3
"""Sums test cases over meson JUnit logs (TAP subtests count one each) and prints the total.

Usage: count_tests.py [--failed-run LABEL]... LABEL=build/meson-logs/testlog.junit.xml ...
A missing log, or a meson run that failed without any failing test case in its log (a
crash, a timeout, a build error), counts as one failed case, so the total never hides it.
The last line is `N passed, N failed`.
"""
import sys
import xml.etree.ElementTree as ET


def count(path):
    passed = failed = 0
    names = []
    root = ET.parse(path).getroot()
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            kinds = {child.tag for child in case}
            if "skipped" in kinds:
                continue
            if kinds & {"failure", "error"}:
                failed += 1
                names.append(f"{suite.get('name')}: {case.get('name')}")
            else:
                passed += 1
    return passed, failed, names


def main(argv):
    failed_runs = set()
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--failed-run":
            failed_runs.add(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    total_p = total_f = 0
    for arg in args:
        label, _, path = arg.partition("=")
        try:
            p, f, names = count(path)
        except (OSError, ET.ParseError) as e:
            p, f, names = 0, 1, [f"no test log ({e})"]
        if label in failed_runs and f == 0:
            f, names = 1, names + ["the run failed outside any test case (see its log)"]
        print(f"{label}: {p} passed, {f} failed")
        for n in names:
            print(f"  FAILED {n}")
        total_p += p
        total_f += f
    print(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

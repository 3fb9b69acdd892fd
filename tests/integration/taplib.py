# SPDX-License-Identifier: MIT
"""Shared helpers for the Python integration tests: start an example server on port 0,
and run unittest cases printing TAP (one line per test case) for the build's test runner."""
import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import traceback
import unittest


class ExampleServer:
    """Starts an example binary with --port 0 and reads its `listening on` line.
    WISP_EXE_WRAPPER (say `wine64` or `qemu-aarch64-static -L /usr/aarch64-linux-gnu`) runs a
    cross-built binary under an emulator. WISP_STOP_SIGNAL (default SIGTERM) is the signal
    stop() asks the server to stop with when the test names none."""

    def __init__(self, binary, *extra, timeout=15):
        wrapper = shlex.split(os.environ.get("WISP_EXE_WRAPPER", ""))
        if wrapper:
            timeout *= 4
        self.proc = subprocess.Popen([*wrapper, binary, "--port", "0", *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line or self.proc.poll() is not None:
                break
        m = re.match(r"listening on https?://([^:]+):(\d+)", line or "")
        if not m:
            self.stop()
            raise RuntimeError(f"{binary} did not print its address (got {line!r})")
        self.host, self.port = m.group(1), int(m.group(2))

    def stop(self, sig=None, timeout=10):
        if sig is None:
            sig = getattr(signal, os.environ.get("WISP_STOP_SIGNAL", "SIGTERM"))
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class _TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, detail=None):
        self.n += 1
        name = test.id().split(".", 1)[-1].replace("#", "")
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}", flush=True)
        if detail:
            for l in detail.rstrip().splitlines():
                print(f"# {l}", flush=True)

    def addSuccess(self, test):
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, "".join(traceback.format_exception(*err)))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, "".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        self.n += 1
        print(f"ok {self.n} - {test.id()} # SKIP {reason}", flush=True)


def _skip(suite, reasons):
    """Marks the cases named in reasons (Class.test_name -> why) as skipped."""
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            _skip(test, reasons)
            continue
        why = reasons.get(test.id().split(".", 1)[-1])
        if why:
            method = getattr(test, test._testMethodName)
            setattr(test, test._testMethodName, unittest.skip(why)(method))


def main(module_globals):
    """Parses --server BINARY into module_globals['SERVER'] and runs the module's tests as TAP.
    WISP_TAP_SKIP (`Class.test_name: reason; ...`) skips cases a configuration cannot run."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args, _ = ap.parse_known_args()
    module_globals["SERVER"] = os.path.abspath(args.server)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_globals["__name__"]])
    entries = (e.partition(":") for e in os.environ.get("WISP_TAP_SKIP", "").split(";"))
    _skip(suite, {name.strip(): why.strip() or "skipped" for name, _, why in entries if name.strip()})
    result = _TapResult()
    suite.run(result)
    print(f"1..{result.n}", flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)

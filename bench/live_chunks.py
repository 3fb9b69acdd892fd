#!/usr/bin/env python3
"""The heap each connection keeps, by chunk size: starts SERVER with bench/live_chunks.c
preloaded, dumps its live chunks, runs CLIENT (which must hold N connections open and print a
line containing "ready" once they are), dumps again, and prints the difference per connection.

  python3 bench/live_chunks.py -n 10000 --server 'build/rel/bench/anchor 9400' \\
      --client 'build/kit/wsload idle -c 10000 -t 4 -p 9400'
"""
import argparse, os, shlex, signal, subprocess, sys, time

def dump(srv, log):
    before = os.path.getsize(log)
    srv.send_signal(signal.SIGUSR2)
    for _ in range(100):
        with open(log) as f:
            f.seek(before)
            text = f.read()
        if "live_chunks: end" in text:
            rows = {}
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "live_chunks:":
                    rows[int(parts[1])] = int(parts[2])
            return rows
        time.sleep(0.05)
    sys.exit("live_chunks.py: no dump from the server")

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, required=True, help="connections the client holds")
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--lib", default=os.path.join(os.path.dirname(__file__), "..", "build", "rel",
                                                  "bench", "liblive_chunks.so"))
    a = ap.parse_args()
    log = "/tmp/live_chunks.%d.log" % os.getpid()
    env = dict(os.environ, LD_PRELOAD=os.path.abspath(a.lib))
    with open(log, "w") as err:
        srv = subprocess.Popen(shlex.split(a.server), env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        time.sleep(1.0)
        base = dump(srv, log)
        cli = subprocess.Popen(shlex.split(a.client), stdout=subprocess.PIPE, text=True)
        for line in cli.stdout:
            if "ready" in line:
                break
        time.sleep(1.5)
        held = dump(srv, log)
        cli.kill()
        cli.wait()
    finally:
        srv.terminate()
        srv.wait()
        os.unlink(log)
    total = 0
    for size in sorted(set(base) | set(held)):
        d = held.get(size, 0) - base.get(size, 0)
        total += d * size
        if abs(d) >= a.n // 10:
            print("chunk %5d B: %+.2f per connection" % (size, d / a.n))
    print("live heap per connection: %.1f B" % (total / a.n))

if __name__ == "__main__":
    main()

"""Ports for the bench scripts' servers: a free one to bind, and waiting until one listens."""

import socket
import time


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, deadline=30.0):
    """Returns once 127.0.0.1:`port` accepts; raises RuntimeError if `proc` (a Popen) exits
    first or `deadline` seconds pass."""
    end = time.time() + deadline
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited before listening on %d" % port)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listened on %d within %.0f s" % (port, deadline))

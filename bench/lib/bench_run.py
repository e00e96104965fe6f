"""What every bench script needs besides the API client (bench_api.py): a free
loopback port for a server it starts, and the end of a run that checked
things: each failed check printed to stderr and exit status 1, or "all checks
passed"."""
import socket
import sys


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def report_checks(failures):
    """Prints the failed checks (and exits 1) or that all passed."""
    if failures:
        for f in failures:
            print("FAIL " + f, file=sys.stderr)
        sys.exit(1)
    print("all checks passed")

#!/usr/bin/python3
"""SQLite capture benchmark (not a test; docs/live-state.md).

Through a real clawback-agent over mTLS, in one run:
  1. capture time of a ~1 GiB WAL-mode database while a writer commits,
     against the agent backing up the same bytes as a plain file (a copy
     without the SQLite header: the capture's own overhead), reading the file
     with `cat`, and `tar | zstd -3 -T0`; median of N runs with min-max;
  2. the writer's commit latency p50/p99 during the captures against the same
     writer with no capture running (WAL mode: the writer must not stall);
     the same for a rollback-journal database, where the writer waits for the
     copy by design.

  bench/sqlite/run.py [BUILD_DIR]
  env: AGENT=path/to/clawback-agent  BENCH_SIZE_MIB=1024  BENCH_RUNS=5
       BENCH_ROLLBACK_MIB=256 (0 skips the rollback-journal part)
"""
import os
import signal
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BUILD_DIR", SRC + "/build")
AGENT = os.environ.get("AGENT", BUILD + "/agent/clawback-agent")
SIZE_MIB = int(os.environ.get("BENCH_SIZE_MIB", "1024"))
ROLLBACK_MIB = int(os.environ.get("BENCH_ROLLBACK_MIB", "256"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
WRITER = SRC + "/tests/integration/sqlite_writer.py"
OUT = SRC + "/bench/out/sqlite"
ROOT = OUT + "/root"
HOME = ROOT + "/home/claworc"
PKI = OUT + "/pki"


def run(argv, **kw):
    subprocess.run(argv, check=True, **kw)


def make_pki():
    if os.path.exists(PKI + "/controller.crt"):
        return
    os.makedirs(PKI, exist_ok=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign", "-keyout", PKI + "/ca.key", "-out", PKI + "/ca.crt"], **quiet)
    for name, uri, eku in (("agent", "spiffe://claworc/instance/bench", "serverAuth,clientAuth"),
                           ("controller", "spiffe://claworc/controller", "clientAuth")):
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
             "-keyout", "%s/%s.key" % (PKI, name), "-out", "%s/%s.csr" % (PKI, name)], **quiet)
        with open("%s/%s.ext" % (PKI, name), "w") as ext:
            ext.write("subjectAltName=URI:%s,IP:127.0.0.1\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n" % (uri, eku))
        run(["openssl", "x509", "-req", "-in", "%s/%s.csr" % (PKI, name), "-CA", PKI + "/ca.crt", "-CAkey",
             PKI + "/ca.key", "-CAcreateserial", "-days", "30", "-extfile", "%s/%s.ext" % (PKI, name),
             "-out", "%s/%s.crt" % (PKI, name)], **quiet)


def start_agent():
    port_file = OUT + "/agent.port"
    if os.path.exists(port_file):
        os.remove(port_file)
    log = open(OUT + "/agent.log", "w")
    agent = subprocess.Popen([AGENT, "--listen", "127.0.0.1:0", "--port-file", port_file, "--cert", PKI + "/agent.crt",
                              "--key", PKI + "/agent.key", "--ca", PKI + "/ca.crt", "--root", ROOT],
                             stdout=log, stderr=log)
    for _ in range(200):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            return agent, int(open(port_file).read())
        time.sleep(0.05)
    sys.exit("agent did not start: " + open(OUT + "/agent.log").read())


def backup(port, path, archive):
    """Returns (seconds, trailers text) of one backup of `path` through curl."""
    started = time.monotonic()
    run(["curl", "-sS", "--fail", "--raw", "--cacert", PKI + "/ca.crt", "--cert", PKI + "/controller.crt", "--key",
         PKI + "/controller.key", "-H", "Content-Type: application/json",
         "-d", '{"paths":["%s"]}' % path, "https://127.0.0.1:%d/v1/backup" % port, "-o", archive])
    return time.monotonic() - started


def timed(argv_or_shell):
    started = time.monotonic()
    subprocess.run(argv_or_shell, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def spread(values):
    return "%.2f s (min %.2f, max %.2f)" % (statistics.median(values), min(values), max(values))


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))] if s else float("nan")


def writer_latencies(path):
    with open(path) as f:
        return [tuple(map(float, line.split())) for line in f if line.strip()]


def latency_figures(samples, windows):
    inside = [lat for start, lat in samples if any(a <= start <= b for a, b in windows)]
    outside = [lat for start, lat in samples if not any(a - 1 <= start <= b + 1 for a, b in windows)]
    return inside, outside


def fmt_ms(values):
    return "p50 %.2f ms  p99 %.2f ms  max %.1f ms  (%d commits)" % (
        percentile(values, 50) * 1e3, percentile(values, 99) * 1e3, max(values) * 1e3, len(values))


def bench_database(port, name, mode, mib):
    db = "%s/.openclaw/%s" % (HOME, name)
    stamp = db + ".complete"
    if not os.path.exists(stamp):
        print("creating ~%d MiB %s database %s (cached for later runs) ..." % (mib, mode, db), flush=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        os.makedirs(os.path.dirname(db), exist_ok=True)
        run(["/usr/bin/python3", WRITER, "fill", db, mode, str(mib)])
        open(stamp, "w").close()
    size = os.path.getsize(db)
    plain = "%s/plain/%s.bin" % (HOME, name)
    if not os.path.exists(plain + ".complete"):
        os.makedirs(os.path.dirname(plain), exist_ok=True)
        run("tail -c +17 '%s' > '%s'" % (db, plain), shell=True)  # same bytes, no header
        open(plain + ".complete", "w").close()
    archive = OUT + "/capture.tar.zst"
    container_path = "/home/claworc/.openclaw/" + name
    progress, lat_file = OUT + "/writer.progress", OUT + "/writer.latencies"

    writer = subprocess.Popen(["/usr/bin/python3", WRITER, "write", db, mode, progress, "--autocheckpoint", "1000",
                               "--pause-ms", "2", "--latencies", lat_file])
    try:
        time.sleep(5)  # the writer alone: the latency baseline
        subprocess.run("cat '%s' > /dev/null" % db, shell=True, check=True)  # warm the page cache alike
        agent_s, plain_s, cat_s, tarz_s, windows = [], [], [], [], []
        for _ in range(RUNS):
            start = time.monotonic()
            agent_s.append(backup(port, container_path, archive))
            windows.append((start, time.monotonic()))
            time.sleep(1)
            plain_s.append(backup(port, plain[len(ROOT):], archive))
            cat_s.append(timed("cat '%s' > /dev/null" % db))
            tarz_s.append(timed("tar -cf - -C '%s' '%s' | zstd -3 -T0 -q > '%s.baseline'"
                                % (ROOT, container_path.lstrip("/"), archive)))
            time.sleep(1)
        time.sleep(3)
    finally:
        writer.send_signal(signal.SIGTERM)
        writer.wait()
    inside, outside = latency_figures(writer_latencies(lat_file), windows)
    med = statistics.median(agent_s)
    print("%s database, %d MiB, %d runs, writer committing throughout:" % (mode, size >> 20, RUNS))
    print("  capture (agent)        %s  %.0f MiB/s" % (spread(agent_s), (size >> 20) / med))
    print("  same bytes, plain file %s  ratio plain/capture %.2f (the capture's own cost)"
          % (spread(plain_s), statistics.median(plain_s) / med))
    print("  cat file > /dev/null   %s  ratio cat/capture %.2f" % (spread(cat_s), statistics.median(cat_s) / med))
    print("  tar | zstd -3 -T0      %s  ratio tar+zstd/capture %.2f (>= 1: capture faster)"
          % (spread(tarz_s), statistics.median(tarz_s) / med))
    print("  writer commit latency without capture: " + fmt_ms(outside))
    print("  writer commit latency during capture:  " + fmt_ms(inside))
    if outside and inside:
        print("  p99 ratio during/without %.2f" % (percentile(inside, 99) / percentile(outside, 99)))
    os.remove(archive)
    os.remove(archive + ".baseline")


def main():
    if not os.access(AGENT, os.X_OK):
        sys.exit("no agent binary at %s (build clawback-agent or set AGENT=)" % AGENT)
    os.makedirs(HOME + "/.openclaw", exist_ok=True)
    make_pki()
    agent, port = start_agent()
    try:
        bench_database(port, "wal.sqlite", "wal", SIZE_MIB)
        if ROLLBACK_MIB > 0:
            bench_database(port, "rollback.sqlite", "delete", ROLLBACK_MIB)
        with open("/proc/%d/status" % agent.pid) as status:
            hwm = [line for line in status if line.startswith("VmHWM")][0].split()[1]
        print("agent peak RSS (VmHWM): %.1f MiB (bound 32 MiB)" % (int(hwm) / 1024.0))
    finally:
        agent.terminate()
        agent.wait()


if __name__ == "__main__":
    main()

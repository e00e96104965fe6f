#!/usr/bin/python3
"""Scale benchmark driver for bench/scale/run.sh (see there for what it checks).

Environment: CLAWBACK, AGENT, SCALE_INSTANCES, SCALE_CAP, SCALE_SLOTS,
SCALE_TREE_KIB, SCALE_PROBE_INTERVAL, SCALE_OUT."""
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

CLAWBACK = os.environ["CLAWBACK"]
AGENT = os.environ["AGENT"]
N = int(os.environ["SCALE_INSTANCES"])
CAP = int(os.environ["SCALE_CAP"])
SLOTS = int(os.environ["SCALE_SLOTS"])
TREE_KIB = int(os.environ["SCALE_TREE_KIB"])
PROBE_INTERVAL = int(os.environ["SCALE_PROBE_INTERVAL"])
OUT = os.environ["SCALE_OUT"]
TREES = os.path.join(OUT, "trees-%dx%dk" % (N, TREE_KIB))
WORK = os.path.join(OUT, "work")
DATA = os.path.join(WORK, "ctl")
PASSWORD = "scale-bench-admin-password-%d-long-enough" % int(time.time())
FINAL = ("completed", "failed", "canceled")

children = []


def cleanup(*_):
    for p in children:
        if p.poll() is None:
            p.terminate()
    for p in children:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def die(msg):
    print("scale bench: " + msg, file=sys.stderr)
    cleanup()
    sys.exit(1)


signal.signal(signal.SIGTERM, lambda *_: die("terminated"))


# ---- small sample trees (cached): text files in nested dirs, a log, a blob ----
def make_trees():
    if os.path.exists(os.path.join(TREES, ".complete")):
        return
    print("generating %d trees of ~%d KiB in %s (cached for later runs) ..." % (N, TREE_KIB, TREES), flush=True)
    shutil.rmtree(TREES, ignore_errors=True)
    base = random.Random(5)
    vocab = [bytes(base.choices(b"abcdefghijklmnopqrstuvwxyz", k=base.randint(2, 9))) + b" " for _ in range(2048)]
    for i in range(1, N + 1):
        rng = random.Random(i)
        home = os.path.join(TREES, "%03d" % i, "home", "claworc")
        budget = TREE_KIB << 10
        used, j = 0, 0
        while used < budget * 50 // 100:
            size = min(int(rng.lognormvariate(8.0, 1.0)), 64 << 10)
            d = os.path.join(home, rng.choice(["", ".openclaw/memory", "work/src", "work/src/lib"]))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f%03d.txt" % j), "wb") as f:
                f.write((b"".join(rng.choices(vocab, k=size // 5 + 1)))[:size])
            used += size
            j += 1
        os.makedirs(os.path.join(home, "work"), exist_ok=True)
        with open(os.path.join(home, "work", "agent.log"), "wb") as f:
            f.write((b"".join(rng.choices(vocab, k=budget // 20)))[: budget * 25 // 100])
        with open(os.path.join(home, "work", "blob.bin"), "wb") as f:
            f.write(rng.randbytes(budget * 25 // 100))
    open(os.path.join(TREES, ".complete"), "w").close()


# ---- API client: one keep-alive connection per thread ----
class Api:
    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def raw(self, method, path, body=None, headers=None):
        hdrs = {"Content-Type": "application/json"}
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        hdrs.update(headers or {})
        data = None if body is None else json.dumps(body)
        for attempt in range(3):
            try:
                self.conn.request(method, path, data, hdrs)
                r = self.conn.getresponse()
                return r, r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt == 2:
                    raise

    def call(self, method, path, body=None):
        r, data = self.raw(method, "/api/v1" + path, body)
        if r.status >= 300:
            die("%s %s -> %d %s" % (method, path, r.status, data.decode()[:300]))
        return json.loads(data) if data else None


def start_controller():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(DATA, mode=0o700)
    port_file = os.path.join(WORK, "ctl.port")
    env = dict(os.environ, CLAWORC_DATA_PATH=DATA, CLAWORC_ADMIN_PASSWORD=PASSWORD)
    log = open(os.path.join(WORK, "ctl.log"), "w")
    p = subprocess.Popen([CLAWBACK, "serve", "--data-dir", DATA, "--listen", "127.0.0.1:0", "--port-file", port_file,
                          "--log-format", "text", "--max-concurrent-transfers", str(CAP),
                          "--probe-interval", str(PROBE_INTERVAL)],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    children.append(p)
    for _ in range(400):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    else:
        die("controller did not start; see " + log.name)
    if p.poll() is not None:
        die("controller exited; see " + log.name)
    port = int(open(port_file).read())
    anon = Api(port)
    r, data = anon.raw("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})
    if r.status != 200:
        die("login failed: %d %s" % (r.status, data.decode()))
    cookie = r.getheader("Set-Cookie").split(";", 1)[0]
    csrf = json.loads(data)["csrf_token"]
    r, data = anon.raw("POST", "/api/v1/auth/tokens", {"name": "scale"}, {"Cookie": cookie, "X-CSRF-Token": csrf})
    if r.status >= 300:
        die("token failed: %d %s" % (r.status, data.decode()))
    return p, port, json.loads(data)["secret"]


def start_agents(api):
    ids, agents, port_files = [], [], []
    bundles = os.path.join(WORK, "bundles")
    for i in range(1, N + 1):
        name = "scale-%03d" % i
        inst = api.call("POST", "/instances", {"name": name, "agent_url": "https://127.0.0.1:1"})
        b = api.call("POST", "/instances/%d/bundle" % inst["id"])
        d = os.path.join(bundles, name)
        os.makedirs(d)
        for key, fname in (("ca_crt", "ca.crt"), ("agent_crt", "agent.crt"), ("agent_key", "agent.key")):
            with open(os.path.join(d, fname), "w") as f:
                f.write(b[key])
        os.chmod(os.path.join(d, "agent.key"), 0o600)
        pf = os.path.join(d, "port")
        log = open(os.path.join(d, "agent.log"), "w")
        p = subprocess.Popen([AGENT, "--listen", "127.0.0.1:0", "--port-file", pf, "--cert", d + "/agent.crt",
                              "--key", d + "/agent.key", "--ca", d + "/ca.crt",
                              "--root", os.path.join(TREES, "%03d" % i), "--log-format", "text"],
                             stdout=log, stderr=subprocess.STDOUT)
        children.append(p)
        ids.append(inst["id"])
        agents.append(p)
        port_files.append(pf)
    deadline = time.monotonic() + 60
    for inst_id, p, pf in zip(ids, agents, port_files):
        while not (os.path.exists(pf) and os.path.getsize(pf) > 0):
            if p.poll() is not None or time.monotonic() > deadline:
                die("agent for instance %d did not start (see %s)" % (inst_id, os.path.dirname(pf) + "/agent.log"))
            time.sleep(0.02)
        api.call("PATCH", "/instances/%d" % inst_id, {"agent_url": "https://127.0.0.1:%s" % open(pf).read().strip()})
    return ids, agents


def wait_running(api, n):
    deadline = time.monotonic() + PROBE_INTERVAL * 3 + 60
    while True:
        lst = api.call("GET", "/instances")["instances"]
        running = sum(i["status"] == "running" for i in lst)
        if running == n:
            return
        if time.monotonic() > deadline:
            bad = [(i["name"], i["status"], i.get("status_reason")) for i in lst if i["status"] != "running"][:5]
            die("only %d/%d instances running: %s" % (running, n, bad))
        time.sleep(0.5)


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Samplers:
    """Concurrency sampler (store view and metrics gauge) and API latency probe."""

    def __init__(self, port, token, ctl_pid):
        self.port, self.token, self.ctl_pid = port, token, ctl_pid
        self.stop = threading.Event()
        self.running_now = 0
        self.max_store = self.max_gauge = self.max_queued = 0
        self.samples = 0
        self.max_threads = 0
        self.latencies = []  # (ms, transfers running at the time)
        self.errors = []
        self.threads = [threading.Thread(target=self.sample, daemon=True),
                        threading.Thread(target=self.latency, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def sample(self):
        api = Api(self.port, self.token)
        gauge = re.compile(r"^clawback_transfers_(running|queued)\s+(\S+)", re.M)
        while not self.stop.is_set():
            running = api.call("GET", "/backups?status=running&limit=500")["total"]
            r, data = api.raw("GET", "/metrics")
            g = {k: float(v) for k, v in gauge.findall(data.decode())}
            self.max_store = max(self.max_store, running)
            self.max_gauge = max(self.max_gauge, int(g.get("running", 0)))
            self.max_queued = max(self.max_queued, int(g.get("queued", 0)))
            self.running_now = max(running, int(g.get("running", 0)))
            self.max_threads = max(self.max_threads, proc_status(self.ctl_pid, "Threads"))
            self.samples += 1
            time.sleep(0.01)

    def latency(self):
        api = Api(self.port, self.token)
        while not self.stop.is_set():
            t0 = time.perf_counter()
            n = len(api.call("GET", "/instances")["instances"])
            ms = (time.perf_counter() - t0) * 1000
            if n != N:
                self.errors.append("GET /instances listed %d instances, expected %d" % (n, N))
            self.latencies.append((ms, self.running_now))
            time.sleep(0.02)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    make_trees()
    ctl, port, token = start_controller()
    api = Api(port, token)
    t_setup = time.monotonic()
    ids, agents = start_agents(api)
    wait_running(api, N)
    print("%d instances registered, bundles issued, agents running (%.1f s); cap %d, %d slots of cron '* * * * *'"
          % (N, time.monotonic() - t_setup, CAP, SLOTS), flush=True)

    samplers = Samplers(port, token, ctl.pid)
    samplers.start()
    cpu0 = cpu_seconds(ctl.pid)
    agents_cpu0 = sum(cpu_seconds(p.pid) for p in agents)
    sched = api.call("POST", "/backup-schedules", {"name": "scale-all", "all_instances": True, "cron": "* * * * *",
                                                   "timezone": "UTC", "paths": ["HOME"]})
    sid = sched["id"]
    t0 = time.monotonic()
    print("schedule %d created; next runs %s" % (sid, [r["utc"] for r in sched["next_runs"][:SLOTS]]), flush=True)

    # Wait for SLOTS fired slots (audit events), then disable so no more fire.
    db = sqlite3.connect("file:%s/clawback.db?mode=ro" % DATA, uri=True, timeout=30)
    while True:
        fired = db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'schedule.fire' AND target = ?",
                           ("schedule:scale-all",)).fetchone()[0]
        if fired >= SLOTS:
            break
        if time.monotonic() - t0 > 60 * (SLOTS + 2):
            die("only %d slots fired in %.0f s" % (fired, time.monotonic() - t0))
        time.sleep(0.5)
    api.call("PUT", "/backup-schedules/%d" % sid, {"enabled": False})
    while True:
        left = db.execute("SELECT COUNT(*) FROM backups WHERE schedule_id = ? AND status IN ('queued', 'running')",
                          (sid,)).fetchone()[0]
        if left == 0:
            break
        if time.monotonic() - t0 > 60 * (SLOTS + 4):
            die("%d scheduled backups still unfinished" % left)
        time.sleep(0.2)
    wall = time.monotonic() - t0
    time.sleep(6)  # one more scheduler tick: a disabled schedule must not fire again
    samplers.finish()
    ctl_cpu = cpu_seconds(ctl.pid) - cpu0
    agents_cpu = sum(cpu_seconds(p.pid) for p in agents) - agents_cpu0
    rss = proc_status(ctl.pid, "VmHWM") / 1024.0

    # ---- checks against the store and the audit log ----
    failures = []
    rows = db.execute("SELECT id, instance_id, status, error_message, created_at, started_at, completed_at, size_bytes "
                      "FROM backups WHERE schedule_id = ?", (sid,)).fetchall()
    other = db.execute("SELECT COUNT(*) FROM backups WHERE schedule_id IS NOT ? OR schedule_id IS NULL",
                       (sid,)).fetchone()[0]
    by_status = collections.Counter(r[2] for r in rows)
    reasons = collections.Counter(r[3] for r in rows if r[2] != "completed")
    if any(r[2] not in ("completed", "failed") for r in rows):
        failures.append("backups not completed/failed: %s" % dict(by_status))
    if any(r[2] == "failed" and not r[3] for r in rows):
        failures.append("failed backups without a reason")
    if other:
        failures.append("%d backups not made by the schedule" % other)

    events = db.execute("SELECT at, outcome, detail_json FROM audit_events WHERE action = 'schedule.fire' AND target = ? "
                        "ORDER BY id", ("schedule:scale-all",)).fetchall()
    slots = [json.loads(e[2]).get("slot") for e in events]
    if len(set(slots)) != len(slots):
        failures.append("a slot fired twice: %s" % slots)
    if len(events) != SLOTS:
        failures.append("%d slots fired, expected %d (schedule disabled after slot %d)" % (len(events), SLOTS, SLOTS))
    last_slot = db.execute("SELECT last_slot FROM schedules WHERE id = ?", (sid,)).fetchone()[0]
    if slots and last_slot != max(slots):
        failures.append("schedules.last_slot %d is not the last fired slot %d" % (last_slot, max(slots)))
    slot_of = {}
    skipped_total = 0
    for (at, outcome, detail_json), slot in zip(events, slots):
        d = json.loads(detail_json)
        started, skipped = d.get("backups", []), d.get("skipped", [])
        skipped_total += len(skipped)
        if len(started) + len(skipped) != N:
            failures.append("slot %s: %d started + %d skipped != %d instances" % (slot, len(started), len(skipped), N))
        for b in started:
            if b in slot_of:
                failures.append("backup %d listed by two slots" % b)
            slot_of[b] = slot
    per_slot = collections.Counter()
    for r in rows:
        if r[0] not in slot_of:
            failures.append("backup %d belongs to no fired slot" % r[0])
            continue
        per_slot[(r[1], slot_of[r[0]])] += 1
    duplicates = sum(c - 1 for c in per_slot.values() if c > 1)
    # Independent of the audit log: per instance, scheduled backups are >= 30 s apart.
    by_inst = collections.defaultdict(list)
    for r in rows:
        by_inst[r[1]].append(r[4])
    close_pairs = sum(1 for ts in by_inst.values() for a, b in zip(sorted(ts), sorted(ts)[1:]) if b - a < 30)
    if duplicates or close_pairs:
        failures.append("duplicates: %d by slot, %d by timestamps" % (duplicates, close_pairs))
    failures += samplers.errors[:3]
    if samplers.max_store > CAP or samplers.max_gauge > CAP:
        failures.append("cap %d exceeded: store %d, gauge %d" % (CAP, samplers.max_store, samplers.max_gauge))
    done = [r for r in rows if r[2] == "completed" and r[6] and r[5]]
    spans = [r[6] - r[5] for r in done]

    lat = [ms for ms, _ in samplers.latencies]
    busy = [ms for ms, running in samplers.latencies if running > 0]
    print("backups  %d by the schedule over %d slots: %s; skipped (busy) %d; other backups %d"
          % (len(rows), len(events), dict(by_status), skipped_total, other))
    for reason, n in reasons.most_common(5):
        print("  %dx %s" % (n, reason))
    print("wall     %.1f s from schedule creation to the last final status; per-backup run time (s) p50 %s max %s"
          % (wall, pct(spans, 50), max(spans) if spans else "-"))
    print("cap      max running %d (store, %d samples) / %d (metrics gauge) vs cap %d; max queued %d"
          % (samplers.max_store, samplers.samples, samplers.max_gauge, CAP, samplers.max_queued))
    print("twice    slots fired %d (distinct %d); duplicate backups per instance+slot %d; <30 s apart %d"
          % (len(events), len(set(slots)), duplicates, close_pairs))
    print("latency  GET /api/v1/instances (%d instances): n=%d p50 %.1f ms p99 %.1f ms max %.1f ms; "
          "while transfers ran: n=%d p50 %.1f ms p99 %.1f ms"
          % (N, len(lat), pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan"),
             len(busy), pct(busy, 50), pct(busy, 99)))
    print("ctl      peak RSS (VmHWM) %.1f MiB, peak threads %d, CPU %.2f s vs agents %.2f s"
          % (rss, samplers.max_threads, ctl_cpu, agents_cpu))
    print("load after: %s" % open("/proc/loadavg").read().strip())
    cleanup()
    if failures:
        for f in failures:
            print("FAIL " + f, file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()

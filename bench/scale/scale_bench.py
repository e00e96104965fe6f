#!/usr/bin/python3
"""Scale benchmark driver for bench/scale/run.sh (see there for what it checks).

Environment: CLAWBACK, AGENT, SCALE_INSTANCES, SCALE_CAP, SCALE_SLOTS,
SCALE_TREE_KIB, SCALE_PROBE_INTERVAL, SCALE_IDLE_S, SCALE_OUT."""
import collections
import datetime
import http.client
import json
import multiprocessing
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from bench_api import BenchApi  # noqa: E402
from bench_run import report_checks  # noqa: E402

CLAWBACK = os.environ["CLAWBACK"]
AGENT = os.environ["AGENT"]
N = int(os.environ["SCALE_INSTANCES"])
CAP = int(os.environ["SCALE_CAP"])
SLOTS = int(os.environ["SCALE_SLOTS"])
TREE_KIB = int(os.environ["SCALE_TREE_KIB"])
PROBE_INTERVAL = int(os.environ["SCALE_PROBE_INTERVAL"])
IDLE_S = int(os.environ.get("SCALE_IDLE_S", "20"))
# Agents normally run on their instances' hosts, not on the controller's: at
# this nice value they take the CPU the controller leaves (their CPU-seconds
# are counted the same). 0 makes them compete with it as equals.
AGENT_NICE = int(os.environ.get("SCALE_AGENT_NICE", "10"))
IDLE_WINDOW_S = 5      # idle latency: one p99 per window of this length
LATENCY_PERIOD_S = 0.1  # the latency probe starts a GET /instances this often (or at once when late)
PERF = os.environ.get("SCALE_PERF", "")  # "1": perf record the controller during the slots; "idle": the idle phase
METRICS_EVERY_S = float(os.environ.get("SCALE_METRICS_EVERY_S", "0.5"))  # /metrics gauge sample
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


# ---- API client (bench/lib/bench_api.py): one keep-alive connection per thread ----
class Api(BenchApi):
    timeout = 120

    def fail(self, msg):
        die(msg)


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
                             stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(AGENT_NICE))
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


PHASES = ("setup", "idle", "wait", "slot")


def latency_probe(port, token, phase, running_now, stop, out):
    """GET /instances every LATENCY_PERIOD_S until `stop`, in its own process
    (no GIL shared with the samplers and the main loop): the time from
    sending the request to having the whole body, decoded afterwards. Sends
    (ms, running, phase, t, instances listed) tuples to `out` at the end."""
    api = Api(port, token)
    samples = []
    next_at = time.monotonic()
    while not stop.is_set():
        # A fixed pace, not "a pause after each answer": the load the probe
        # puts on the controller does not grow when its answers get faster.
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at + LATENCY_PERIOD_S, time.monotonic())
        running_before, ph = running_now.value, PHASES[phase.value]
        t0 = time.perf_counter()
        r, data = api.raw("GET", "/api/v1/instances")
        ms = (time.perf_counter() - t0) * 1000
        n = len(json.loads(data)["instances"]) if r.status == 200 else -r.status
        samples.append((ms, max(running_before, running_now.value), ph, time.monotonic(), n))
    out.send(samples)


class Samplers:
    """Concurrency sampler (store view every ~10 ms, metrics gauge every
    METRICS_EVERY_S) in a thread, and the API latency probe (GET /instances
    every LATENCY_PERIOD_S) in a process of its own. Each latency sample
    carries the phase it was taken in (set_phase) and whether transfers were
    running at the time."""

    def __init__(self, port, token, ctl_pid):
        self.port, self.token, self.ctl_pid = port, token, ctl_pid
        self.stop = threading.Event()
        self.phase = multiprocessing.Value("i", 0)
        self.running_now = multiprocessing.Value("i", 0)
        self.probe_stop = multiprocessing.Event()
        self.results, child_end = multiprocessing.Pipe(duplex=False)
        self.probe = multiprocessing.Process(target=latency_probe, daemon=True,
                                             args=(port, token, self.phase, self.running_now, self.probe_stop,
                                                   child_end))
        self.max_store = self.max_gauge = self.max_queued = 0
        self.samples = 0
        self.max_threads = 0
        self.latencies = []  # (ms, transfers running at the time, phase, monotonic time)
        self.errors = []
        self.threads = [threading.Thread(target=self.sample, daemon=True)]

    def start(self):
        self.probe.start()
        for t in self.threads:
            t.start()

    def set_phase(self, phase):
        self.phase.value = PHASES.index(phase)

    def finish(self):
        self.probe_stop.set()
        samples = self.results.recv()
        self.probe.join()
        self.stop.set()
        for t in self.threads:
            t.join()
        for ms, running, phase, at, n in samples:
            if n != N:
                self.errors.append("GET /instances listed %d instances, expected %d" % (n, N))
            self.latencies.append((ms, running, phase, at))

    def sample(self):
        api = Api(self.port, self.token)
        gauge = re.compile(r"^clawback_transfers_(running|queued)\s+(\S+)", re.M)
        next_metrics = 0.0
        g = {}
        while not self.stop.is_set():
            running = api.call("GET", "/backups?status=running&limit=500")["total"]
            if time.monotonic() >= next_metrics:
                r, data = api.raw("GET", "/metrics")
                g = {k: float(v) for k, v in gauge.findall(data.decode())}
                next_metrics = time.monotonic() + METRICS_EVERY_S
                self.max_gauge = max(self.max_gauge, int(g.get("running", 0)))
                self.max_queued = max(self.max_queued, int(g.get("queued", 0)))
            self.max_store = max(self.max_store, running)
            self.running_now.value = running
            self.max_threads = max(self.max_threads, proc_status(self.ctl_pid, "Threads"))
            self.samples += 1
            time.sleep(0.01)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def start_perf(pid):
    """perf record with DWARF call graphs of `pid` into WORK/perf.data."""
    return subprocess.Popen(["perf", "record", "-F", "199", "--call-graph", "dwarf,16384", "-p", str(pid), "-o",
                             os.path.join(WORK, "perf.data")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spread(values, fmt="%.2f"):
    """ "median (min-max)" of values."""
    if not values:
        return "-"
    v = sorted(values)
    mid = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    return (fmt + " (" + fmt + "-" + fmt + ")") % (mid, v[0], v[-1])


def main():
    make_trees()
    ctl, port, token = start_controller()
    api = Api(port, token)
    t_setup = time.monotonic()
    ids, agents = start_agents(api)
    wait_running(api, N)
    print("%d instances registered, bundles issued, agents running (%.1f s, nice %d); cap %d, %d slots of cron "
          "'* * * * *'" % (N, time.monotonic() - t_setup, AGENT_NICE, CAP, SLOTS), flush=True)

    samplers = Samplers(port, token, ctl.pid)
    samplers.start()
    cpu0 = cpu_seconds(ctl.pid)
    agents_cpu0 = sum(cpu_seconds(p.pid) for p in agents)

    # ---- idle: the instance list while only the prober and the samplers run ----
    samplers.set_phase("idle")
    c0, a0, t_idle = cpu_seconds(ctl.pid), sum(cpu_seconds(p.pid) for p in agents), time.monotonic()
    perf = start_perf(ctl.pid) if PERF == "idle" else None
    time.sleep(IDLE_S)
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    idle_cpu = ((cpu_seconds(ctl.pid) - c0) / (time.monotonic() - t_idle),
                (sum(cpu_seconds(p.pid) for p in agents) - a0) / (time.monotonic() - t_idle))
    samplers.set_phase("wait")

    sched = api.call("POST", "/backup-schedules", {"name": "scale-all", "all_instances": True, "cron": "* * * * *",
                                                   "timezone": "UTC", "paths": ["HOME"]})
    sid = sched["id"]
    t0 = time.monotonic()
    print("schedule %d created; next runs %s" % (sid, [r["utc"] for r in sched["next_runs"][:SLOTS]]), flush=True)
    slot_at = [datetime.datetime.fromisoformat(r["utc"].replace("Z", "+00:00")).timestamp()
               for r in sched["next_runs"][:SLOTS]]

    # Per slot: CPU of the controller and of every agent from 1 s before the
    # slot until the last of its backups has a final status, read again each
    # time another quarter of the slot's backups is final (the spread).
    db = sqlite3.connect("file:%s/clawback.db?mode=ro" % DATA, uri=True, timeout=30)
    slot_stats = []  # (backups, wall s, controller CPU s, agents CPU s, overlapped)
    quarters = []    # (backups, controller CPU s, agents CPU s) per quarter of a slot
    perf = None
    for k in range(SLOTS):
        lead = slot_at[k] - 1.0 - time.time()
        if lead > 0:
            time.sleep(lead)
        c0, a0, ts = cpu_seconds(ctl.pid), sum(cpu_seconds(p.pid) for p in agents), time.monotonic()
        if PERF == "1" and perf is None:
            perf = start_perf(ctl.pid)
        while True:
            events = db.execute("SELECT detail_json FROM audit_events WHERE action = 'schedule.fire' AND target = ? "
                                "ORDER BY id", ("schedule:scale-all",)).fetchall()
            if len(events) > k:
                break
            if time.monotonic() - t0 > 60 * (SLOTS + 2):
                die("only %d slots fired in %.0f s" % (len(events), time.monotonic() - t0))
            time.sleep(0.1)
        samplers.set_phase("slot")
        started = json.loads(events[k][0]).get("backups", [])
        if k == SLOTS - 1:
            api.call("PUT", "/backup-schedules/%d" % sid, {"enabled": False})
        marks = [len(started) * q // 4 for q in (1, 2, 3, 4)]
        qc, qa, qn = c0, a0, 0
        while started:
            done = db.execute("SELECT COUNT(*) FROM backups WHERE id IN (%s) AND status IN ('completed', 'failed', "
                              "'canceled')" % ",".join(str(int(b)) for b in started)).fetchone()[0]
            if marks and done >= marks[0]:
                c, a = cpu_seconds(ctl.pid), sum(cpu_seconds(p.pid) for p in agents)
                quarters.append((done - qn, c - qc, a - qa))
                qc, qa, qn = c, a, done
                while marks and done >= marks[0]:
                    marks.pop(0)
            if done == len(started):
                break
            if time.monotonic() - t0 > 60 * (SLOTS + 4):
                die("slot %d: %d of %d backups unfinished" % (k + 1, len(started) - done, len(started)))
            time.sleep(0.05)
        slot_stats.append((len(started), time.monotonic() - ts, cpu_seconds(ctl.pid) - c0,
                           sum(cpu_seconds(p.pid) for p in agents) - a0, lead < 0))
        samplers.set_phase("wait")
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait()
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

    lat = [x[0] for x in samplers.latencies]
    idle = [x for x in samplers.latencies if x[2] == "idle"]
    busy = [x[0] for x in samplers.latencies if x[2] == "slot"]
    # Idle: one p99 per IDLE_WINDOW_S window. Busy: one p99 per slot.
    idle_windows = collections.defaultdict(list)
    for ms, _, _, at in idle:
        idle_windows[int((at - idle[0][3]) // IDLE_WINDOW_S)].append(ms)
    idle_p99 = [pct(v, 99) for v in idle_windows.values() if len(v) >= 5]
    busy_all = [x for x in samplers.latencies if x[2] == "slot"]
    busy_windows = collections.defaultdict(list)
    for ms, _, _, at in busy_all:
        busy_windows[int((at - busy_all[0][3]) // IDLE_WINDOW_S)].append(ms)
    busy_p99 = [pct(v, 99) for v in busy_windows.values() if len(v) >= 5]

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
    print("latency  GET /api/v1/instances (%d instances): n=%d p50 %.1f ms p99 %.1f ms max %.1f ms"
          % (N, len(lat), pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan")))
    print("  idle              n=%d p50 %.1f ms; p99 per %d s window: median %s ms over %d windows"
          % (len(idle), pct([x[0] for x in idle], 50), IDLE_WINDOW_S, spread(idle_p99, "%.1f"), len(idle_p99)))
    print("  transfers running n=%d p50 %.1f ms p99 %.1f ms; p99 per %d s window: median %s ms over %d windows"
          % (len(busy), pct(busy, 50), pct(busy, 99), IDLE_WINDOW_S, spread(busy_p99, "%.1f"), len(busy_p99)))
    for i, (n, secs, c, a, overlapped) in enumerate(slot_stats, 1):
        print("  slot %d: %d backups in %.1f s; CPU controller %.2f s, agents %.2f s (ratio %.2f)%s"
              % (i, n, secs, c, a, c / a if a else float("nan"),
                 " [started late: the previous slot overran]" if overlapped else ""))
    per1k_c = [c * 1000.0 / n for n, c, _ in quarters if n]
    per1k_a = [a * 1000.0 / n for n, _, a in quarters if n]
    ratios = [c / a for _, c, a in quarters if a]
    tot_n = sum(x[0] for x in slot_stats)
    tot_c = sum(x[2] for x in slot_stats)
    tot_a = sum(x[3] for x in slot_stats)
    print("cpu      %d backups: controller %.2f s, agents %.2f s, controller/agents %.2f"
          % (tot_n, tot_c, tot_a, tot_c / tot_a if tot_a else float("nan")))
    print("  per 1,000 backups, median (min-max) over %d quarter-slots: controller %s s, agents %s s, ratio %s"
          % (len(quarters), spread(per1k_c), spread(per1k_a), spread(ratios)))
    print("  idle baseline (prober every %d s, samplers): controller %.3f CPU-s/s, agents %.3f CPU-s/s"
          % (PROBE_INTERVAL, idle_cpu[0], idle_cpu[1]))
    print("ctl      peak RSS (VmHWM) %.1f MiB, peak threads %d, CPU %.2f s vs agents %.2f s (whole run)"
          % (rss, samplers.max_threads, ctl_cpu, agents_cpu))
    print("load after: %s" % open("/proc/loadavg").read().strip())
    cleanup()
    report_checks(failures)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()

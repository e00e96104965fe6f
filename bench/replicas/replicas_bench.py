#!/usr/bin/python3
"""Two-replica schedule benchmark driver for bench/replicas/run.sh (see there).

Environment: CLAWBACK, AGENT, REPL_INSTANCES, REPL_SLOTS, REPL_CAP, REPL_KILL_AFTER_S,
REPL_TREE_KIB, REPL_OUT, PG_BIN."""
import collections
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from bench_api import BenchApi  # noqa: E402
from bench_run import free_port, report_checks  # noqa: E402

CLAWBACK = os.environ["CLAWBACK"]
AGENT = os.environ["AGENT"]
N = int(os.environ["REPL_INSTANCES"])
SLOTS = int(os.environ["REPL_SLOTS"])
CAP = int(os.environ["REPL_CAP"])
KILL_AFTER_S = float(os.environ["REPL_KILL_AFTER_S"])  # after the first slot fired
TREE_KIB = int(os.environ["REPL_TREE_KIB"])
OUT = os.environ["REPL_OUT"]
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
WORK = os.path.join(OUT, "work")
TREES = os.path.join(OUT, "trees-%dx%dk" % (N, TREE_KIB))
PASSWORD = "replicas-bench-admin-password-%d" % int(time.time())
PG_PASSWORD = "bench-%d" % random.randrange(1 << 30)
FINAL = ("completed", "failed", "canceled")

children = []
pg_root = None


def cleanup():
    for p in reversed(children):
        if p.poll() is None:
            p.terminate()
    for p in children:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
    if pg_root:
        shutil.rmtree(pg_root, ignore_errors=True)


def die(msg):
    print("replicas bench: " + msg, file=sys.stderr)
    cleanup()
    sys.exit(1)


signal.signal(signal.SIGTERM, lambda *_: die("terminated"))


def spawn(argv, log, env=None, **kw):
    p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, **kw)
    children.append(p)
    return p


def wait_file(path, p, log, timeout=30):
    deadline = time.monotonic() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if p.poll() is not None or time.monotonic() > deadline:
            die("process did not start; see " + log)
        time.sleep(0.05)
    return open(path).read().strip()


# ---- PostgreSQL 15, private: initdb/postgres as user postgres, argument arrays only ----
def start_postgres():
    global pg_root
    pg_root = tempfile.mkdtemp(prefix="clawback-bench-pg-")
    os.chmod(pg_root, 0o755)
    with open(os.path.join(pg_root, "pwfile"), "w") as f:
        f.write(PG_PASSWORD + "\n")
    os.makedirs(os.path.join(pg_root, "sock"))
    for path in (pg_root, os.path.join(pg_root, "pwfile"), os.path.join(pg_root, "sock")):
        shutil.chown(path, "postgres", "postgres")
    data = os.path.join(pg_root, "data")
    r = subprocess.run(["runuser", "-u", "postgres", "--", PG_BIN + "/initdb", "-D", data, "-U", "clawback",
                        "--pwfile=" + os.path.join(pg_root, "pwfile"), "--auth-local=trust",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        die("initdb failed: " + r.stdout.decode()[-2000:])
    port = free_port()
    log = os.path.join(WORK, "postgres.log")
    p = spawn(["runuser", "-u", "postgres", "--", PG_BIN + "/postgres", "-D", data, "-p", str(port), "-k",
               os.path.join(pg_root, "sock"), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
               "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"], log)
    for _ in range(300):
        if subprocess.run([PG_BIN + "/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                          stdout=subprocess.DEVNULL).returncode == 0:
            return "postgres://clawback:%s@127.0.0.1:%d/postgres" % (PG_PASSWORD, port)
        if p.poll() is not None:
            break
        time.sleep(0.1)
    die("PostgreSQL did not start; see " + log)


def sql(url, query):
    r = subprocess.run([PG_BIN + "/psql", url, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        die("psql: " + r.stderr.decode()[-500:])
    return [line.split("\t") for line in r.stdout.decode().splitlines() if line]


def start_moto():
    port = free_port()
    spawn(["moto_server", "-H", "127.0.0.1", "-p", str(port)], os.path.join(WORK, "moto.log"))
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("PUT", "/bench")
            if c.getresponse().status == 200:
                return port
        except OSError:
            time.sleep(0.1)
    die("moto_server did not start")


def make_trees():
    if os.path.exists(os.path.join(TREES, ".complete")):
        return
    shutil.rmtree(TREES, ignore_errors=True)
    for i in range(1, N + 1):
        rng = random.Random(i)
        home = os.path.join(TREES, "%03d" % i, "home", "claworc", "work")
        os.makedirs(home)
        for j in range(8):
            with open(os.path.join(home, "f%d.txt" % j), "wb") as f:
                f.write(bytes(rng.choices(b"abcdefgh \n", k=(TREE_KIB << 10) // 8)))
    open(os.path.join(TREES, ".complete"), "w").close()


# ---- API client (bench/lib/bench_api.py): one keep-alive connection per thread ----
class Api(BenchApi):
    timeout = 60

    def fail(self, msg):
        die(msg)


def start_replica(name, env):
    d = os.path.join(WORK, name)
    os.makedirs(d + "/data", mode=0o700, exist_ok=True)
    port_file, log = d + "/port", d + "/controller.log"
    p = spawn([CLAWBACK, "serve", "--data-dir", d + "/data", "--listen", "127.0.0.1:0", "--port-file", port_file,
               "--log-format", "text", "--max-concurrent-transfers", str(CAP), "--probe-interval", "15"], log,
              dict(env, CLAWORC_DATA_PATH=d + "/data", CLAWORC_ADMIN_PASSWORD=PASSWORD))
    return p, int(wait_file(port_file, p, log))


def latency_probe(port, token, stop, out):
    """GET /api/v1/instances 10 times a second on one replica."""
    api = Api(port, token)
    next_at = time.monotonic()
    while not stop.is_set():
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at + 0.1, time.monotonic())
        t0 = time.perf_counter()
        try:
            r, data = api.raw("GET", "/api/v1/instances")
            ok = r.status == 200 and len(json.loads(data)["instances"]) == N
        except Exception:
            ok = False
        out.append(((time.perf_counter() - t0) * 1000, ok, time.monotonic()))


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    make_trees()
    db = start_postgres()
    moto = start_moto()
    env = dict(os.environ, CLAWORC_DATABASE=db, CLAWORC_BACKUPS_PATH="s3://bench/fleet",
               AWS_ENDPOINT_URL="http://127.0.0.1:%d" % moto, AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
    a, port_a = start_replica("a", env)
    # Same PKI on every replica (docs/replicas.md): copied before B's first start.
    shutil.copytree(os.path.join(WORK, "a/data/pki"), os.path.join(WORK, "b/data/pki"))
    b, port_b = start_replica("b", env)
    procs = {"a": (a, port_a), "b": (b, port_b)}

    anon = Api(port_a)
    r, data = anon.raw("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})
    if r.status != 200:
        die("login failed: %d %s" % (r.status, data.decode()))
    cookie = r.getheader("Set-Cookie").split(";", 1)[0]
    csrf = json.loads(data)["csrf_token"]
    r, data = anon.raw("POST", "/api/v1/auth/tokens", {"name": "bench"}, {"Cookie": cookie, "X-CSRF-Token": csrf})
    if r.status >= 300:
        die("token failed: %d %s" % (r.status, data.decode()))
    token = json.loads(data)["secret"]
    api_a, api_b = Api(port_a, token), Api(port_b, token)
    api_b.call("GET", "/instances")  # a token made on A works on B

    ids = []
    for i in range(1, N + 1):
        name = "repl-%03d" % i
        inst = api_a.call("POST", "/instances", {"name": name, "agent_url": "https://127.0.0.1:1"})
        bundle = api_a.call("POST", "/instances/%d/bundle" % inst["id"])
        d = os.path.join(WORK, "agents", name)
        os.makedirs(d)
        for key, fname in (("ca_crt", "ca.crt"), ("agent_crt", "agent.crt"), ("agent_key", "agent.key")):
            with open(os.path.join(d, fname), "w") as f:
                f.write(bundle[key])
        os.chmod(os.path.join(d, "agent.key"), 0o600)
        p = spawn([AGENT, "--listen", "127.0.0.1:0", "--port-file", d + "/port", "--cert", d + "/agent.crt", "--key",
                   d + "/agent.key", "--ca", d + "/ca.crt", "--root", os.path.join(TREES, "%03d" % i),
                   "--log-format", "text"], d + "/agent.log", preexec_fn=lambda: os.nice(10))
        port = wait_file(d + "/port", p, d + "/agent.log")
        api_a.call("PATCH", "/instances/%d" % inst["id"], {"agent_url": "https://127.0.0.1:" + port})
        ids.append(inst["id"])

    # Who leads?
    for _ in range(100):
        leader = [n for n, (_, port) in procs.items() if Api(port).health()["replica"]["leader"]]
        if len(leader) == 1:
            break
        time.sleep(0.2)
    else:
        die("no single leader: %s" % leader)
    leader = leader[0]
    survivor = "b" if leader == "a" else "a"
    s_api = api_b if survivor == "b" else api_a
    print("%d instances, agents running; leader %s, survivor %s; cap %d; %d slots of '* * * * *'"
          % (N, leader, survivor, CAP, SLOTS), flush=True)

    samples = []
    stop = threading.Event()
    probe = threading.Thread(target=latency_probe, args=(procs[survivor][1], token, stop, samples), daemon=True)
    probe.start()

    sched = s_api.call("POST", "/backup-schedules", {"name": "repl-all", "all_instances": True, "cron": "* * * * *",
                                                     "timezone": "UTC", "paths": ["HOME"]})
    sid = sched["id"]
    first = datetime.datetime.fromisoformat(sched["next_runs"][0]["utc"].replace("Z", "+00:00")).timestamp()
    t_sched = time.monotonic()
    print("schedule %d; first slot %s" % (sid, sched["next_runs"][0]["utc"]), flush=True)

    def fired():
        return sql(db, "SELECT at, detail_json FROM audit_events WHERE action = 'schedule.fire' AND target = "
                       "'schedule:repl-all' ORDER BY id")

    while not fired():
        if time.time() > first + 30:
            die("the first slot did not fire")
        time.sleep(0.1)
    time.sleep(KILL_AFTER_S)
    states = dict((s, int(n)) for s, n in sql(db, "SELECT status, COUNT(*) FROM backups WHERE schedule_id = %d "
                                                  "GROUP BY status" % sid))
    procs[leader][0].send_signal(signal.SIGKILL)
    procs[leader][0].wait()
    t_kill = time.monotonic()
    print("killed leader %s (kill -9) %.1f s after slot 1 fired; its backups then: %s" % (leader, KILL_AFTER_S, states),
          flush=True)
    takeover = None
    s_health = Api(procs[survivor][1])
    while time.monotonic() - t_kill < 60:
        if s_health.health()["replica"]["leader"]:
            takeover = time.monotonic() - t_kill
            break
        time.sleep(0.1)
    print("takeover: %s" % ("%.1f s" % takeover if takeover is not None else "none within 60 s"), flush=True)

    deadline = time.time() + 60 * (SLOTS + 2)
    while len(fired()) < SLOTS and time.time() < deadline:
        time.sleep(0.5)
    s_api.call("PUT", "/backup-schedules/%d" % sid, {"enabled": False})
    while time.time() < deadline:
        left = int(sql(db, "SELECT COUNT(*) FROM backups WHERE schedule_id = %d AND status IN ('queued', 'running')"
                           % sid)[0][0])
        if left == 0:
            break
        time.sleep(0.5)
    wall = time.monotonic() - t_sched
    stop.set()
    probe.join()

    rows = sql(db, "SELECT id, instance_id, status, error_message, created_at FROM backups WHERE schedule_id = %d"
               % sid)
    events = fired()
    slot_of, slots, failures = {}, [], []
    skipped = 0
    for at, detail in events:
        d = json.loads(detail)
        slots.append(d.get("slot"))
        skipped += len(d.get("skipped", []))
        for bid in d.get("backups", []):
            slot_of[int(bid)] = d.get("slot")
    by_status = collections.Counter(r[2] for r in rows)
    reasons = collections.Counter(r[3] for r in rows if r[2] != "completed")
    per = collections.Counter((r[1], slot_of.get(int(r[0]))) for r in rows)
    duplicated = sum(c - 1 for c in per.values() if c > 1)
    by_inst = collections.defaultdict(list)
    for r in rows:
        by_inst[r[1]].append(int(r[4]))
    close = sum(1 for ts in by_inst.values() for x, y in zip(sorted(ts), sorted(ts)[1:]) if y - x < 30)
    unfinished = sum(by_status[s] for s in ("queued", "running"))
    if len(set(slots)) != len(slots):
        failures.append("a slot fired twice: %s" % slots)
    if len(events) < SLOTS:
        failures.append("%d slots fired, expected %d" % (len(events), SLOTS))
    if duplicated or close:
        failures.append("duplicated backups")
    if unfinished:
        failures.append("%d backups unfinished" % unfinished)
    if takeover is None:
        failures.append("no takeover")
    lat = [ms for ms, ok, at in samples]
    bad = sum(1 for _, ok, _ in samples if not ok)
    after = [ms for ms, ok, at in samples if at >= t_kill]

    print("slots    fired %d (distinct %d): %s; instances skipped (busy) %d"
          % (len(events), len(set(slots)), slots, skipped))
    print("backups  %d: %s; duplicated (instance+slot) %d, <30 s apart %d" % (len(rows), dict(by_status),
                                                                              duplicated, close))
    for reason, n in reasons.most_common(5):
        print("  %dx %s" % (n, reason))
    print("takeover %.1f s (kill -9 of the leader until the survivor's /healthz says leader)" % (takeover or -1))
    print("latency  GET /api/v1/instances on the survivor (%d instances), 10/s for %.0f s: n=%d p50 %.1f ms "
          "p99 %.1f ms max %.1f ms; after the kill n=%d p99 %.1f ms; bad answers %d"
          % (N, wall, len(lat), pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan"), len(after),
             pct(after, 99), bad))
    print("wall     %.1f s from schedule creation to the last final status" % wall)
    cleanup()
    report_checks(failures)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()

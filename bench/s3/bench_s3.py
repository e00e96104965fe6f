"""Driver of bench/s3/run.sh: see there. Children are started with argv
lists (no shell) and killed by pid at the end."""
import http.client, json, os, signal, statistics, subprocess, sys, time, urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from bench_run import free_port  # noqa: E402

CLAWBACK, AGENT, DATA, WORK = (os.environ[k] for k in ("CLAWBACK", "AGENT", "DATA", "WORK"))
CLAWBACK_BEFORE = os.environ.get("CLAWBACK_BEFORE", "")
RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keepalive_relay.py")
RUNS = int(os.environ["RUNS"])
PASSWORD = "bench-admin-password-%d-long-enough" % int(time.time())
children = []


def spawn(argv, log, env=None):
    p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=dict(os.environ, **(env or {})))
    children.append(p)
    return p


def wait_file(path, proc, log):
    for _ in range(600):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit("did not start; log %s:\n%s" % (log, open(log).read()[-3000:]))


def vm_hwm_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Api:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.headers = {"Content-Type": "application/json"}
        r = self.req("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD}, raw=True)
        cookie = r[1].get("Set-Cookie", "").split(";")[0]
        self.headers.update({"Cookie": cookie, "X-CSRF-Token": r[0]["csrf_token"]})
        secret = self.req("POST", "/api/v1/auth/tokens", {"name": "bench"})["secret"]
        self.headers = {"Content-Type": "application/json", "Authorization": "Bearer " + secret}

    def req(self, method, path, body=None, raw=False):
        self.conn.request(method, path, None if body is None else json.dumps(body), self.headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit("%s %s -> %d %s" % (method, path, r.status, data.decode()))
        d = json.loads(data) if data else None
        return (d, dict(r.getheaders())) if raw else d


def start_controller(name, env, binary=CLAWBACK):
    d = os.path.join(WORK, name)
    os.makedirs(d + "/data", mode=0o700)
    port_file, log = d + "/port", d + "/controller.log"
    p = spawn([binary, "serve", "--data-dir", d + "/data", "--listen", "127.0.0.1:0", "--port-file", port_file],
              log, dict(env, CLAWORC_DATA_PATH=d + "/data", CLAWORC_ADMIN_PASSWORD=PASSWORD))
    port = int(wait_file(port_file, p, log))
    return p, Api(port)


def add_instance(api, name):
    inst = api.req("POST", "/api/v1/instances", {"name": name, "agent_url": "https://127.0.0.1:1"})
    bundle = api.req("POST", "/api/v1/instances/%d/bundle" % inst["id"])
    d = os.path.join(WORK, "agent-" + name)
    os.makedirs(d)
    for key, fname in (("ca_crt", "ca.crt"), ("agent_crt", "agent.crt"), ("agent_key", "agent.key")):
        with open(os.path.join(d, fname), "w") as f:
            f.write(bundle[key])
    os.chmod(os.path.join(d, "agent.key"), 0o600)
    p = spawn([AGENT, "--listen", "127.0.0.1:0", "--port-file", d + "/port", "--cert", d + "/agent.crt", "--key",
               d + "/agent.key", "--ca", d + "/ca.crt", "--root", DATA], d + "/agent.log")
    port = wait_file(d + "/port", p, d + "/agent.log")
    api.req("PATCH", "/api/v1/instances/%d" % inst["id"], {"agent_url": "https://127.0.0.1:" + port})
    for _ in range(400):
        if api.req("GET", "/api/v1/instances/%d" % inst["id"]).get("status") == "running":
            return inst["id"]
        time.sleep(0.05)
    sys.exit("instance %s never running" % name)


def relay_stats(path):
    with open(path) as f:
        return json.load(f)


def backup(api, inst):
    t0 = time.monotonic()
    bid = api.req("POST", "/api/v1/instances/%d/backups" % inst, {})["id"]
    while True:
        d = api.req("GET", "/api/v1/backups/%d" % bid)
        if d["status"] in ("completed", "failed", "canceled"):
            break
        time.sleep(0.01)
    t = time.monotonic() - t0
    if d["status"] != "completed":
        sys.exit("backup %d %s: %s" % (bid, d["status"], d.get("error_message")))
    return t, d["size_bytes"]


def main():
    moto_port = free_port()
    moto = spawn(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)], os.path.join(WORK, "moto.log"))
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=2)
            c.request("PUT", "/bench")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("moto_server did not start")
    # The S3 controllers reach moto through a keep-alive relay that counts
    # their connections (moto itself closes every connection after an answer).
    relay_port_file, stats_file = os.path.join(WORK, "relay.port"), os.path.join(WORK, "relay.stats")
    relay = spawn([sys.executable, RELAY, str(moto_port), relay_port_file, stats_file], os.path.join(WORK, "relay.log"))
    relay_port = int(wait_file(relay_port_file, relay, os.path.join(WORK, "relay.log")))
    s3_env = {"CLAWORC_BACKUPS_PATH": "s3://bench/fleet", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:%d" % relay_port,
              "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    sides = [("local", {}, CLAWBACK), ("s3", dict(s3_env, CLAWORC_BACKUPS_PATH="s3://bench/fleet"), CLAWBACK)]
    if CLAWBACK_BEFORE:
        sides.append(("s3-before", dict(s3_env, CLAWORC_BACKUPS_PATH="s3://bench/before"), CLAWBACK_BEFORE))
    ctl, apis, insts = {}, {}, {}
    for name, env, binary in sides:
        ctl[name], apis[name] = start_controller(name, env, binary)
        insts[name] = add_instance(apis[name], name)
    data_bytes = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(DATA) for f in fs
                     if not os.path.islink(os.path.join(r, f)))
    print("dataset %s: %.0f MiB; %d runs per side, order rotating" % (DATA, data_bytes / 2**20, RUNS))
    names = [n for n, _, _ in sides]
    times = {n: [] for n in names}
    conns = {n: [] for n in names}
    reqs = {n: [] for n in names}
    size = 0
    for i in range(RUNS):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            before = relay_stats(stats_file)
            t, size = backup(apis[name], insts[name])
            after = relay_stats(stats_file)
            times[name].append(t)
            extra = ""
            if name != "local":
                conns[name].append(after["connections"] - before["connections"])
                reqs[name].append(after["requests"] - before["requests"])
                extra = "  %d requests over %d connections" % (reqs[name][-1], conns[name][-1])
            print("  run %d %-9s %.2f s%s" % (i + 1, name, t, extra), flush=True)
    fmt = lambda xs: "median %.2f s (min %.2f, max %.2f)" % (statistics.median(xs), min(xs), max(xs))
    spread = lambda xs: "median %g (min %g, max %g)" % (statistics.median(xs), min(xs), max(xs))
    paired = lambda a, b: [x / y for x, y in zip(a, b)]
    ratio = lambda rs: "median %.2fx (min %.2f, max %.2f)" % (statistics.median(rs), min(rs), max(rs))
    print("archive: %.1f MiB" % (size / 2**20))
    print("backup into a local directory: %s" % fmt(times["local"]))
    for name in names[1:]:
        print("backup into moto (%s): %s  -> %.0f MiB/s of archive" %
              (name, fmt(times[name]), size / 2**20 / statistics.median(times[name])))
        print("  per backup: requests %s, connections %s" % (spread(reqs[name]), spread(conns[name])))
        print("  ratio %s/local (paired per run): %s" % (name, ratio(paired(times[name], times["local"]))))
    if CLAWBACK_BEFORE:
        print("ratio s3/s3-before (paired per run): %s" % ratio(paired(times["s3"], times["s3-before"])))
    print("controller peak RSS (VmHWM): " +
          ", ".join("%s %.1f MiB" % (n, vm_hwm_kib(ctl[n].pid) / 1024) for n in names))


try:
    main()
finally:
    for p in children:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

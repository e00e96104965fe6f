"""Driver of bench/s3/run.sh: see there. Children are started with argv
lists (no shell) and killed by pid at the end."""
import http.client, json, os, signal, socket, statistics, subprocess, sys, time, urllib.parse

CLAWBACK, AGENT, DATA, WORK = (os.environ[k] for k in ("CLAWBACK", "AGENT", "DATA", "WORK"))
RUNS = int(os.environ["RUNS"])
PASSWORD = "bench-admin-password-%d-long-enough" % int(time.time())
children = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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


def start_controller(name, env):
    d = os.path.join(WORK, name)
    os.makedirs(d + "/data", mode=0o700)
    port_file, log = d + "/port", d + "/controller.log"
    p = spawn([CLAWBACK, "serve", "--data-dir", d + "/data", "--listen", "127.0.0.1:0", "--port-file", port_file],
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
    s3_env = {"CLAWORC_BACKUPS_PATH": "s3://bench/fleet", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:%d" % moto_port,
              "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    local_ctl, local = start_controller("local", {})
    s3_ctl, s3 = start_controller("s3", s3_env)
    local_inst, s3_inst = add_instance(local, "local"), add_instance(s3, "s3")
    data_bytes = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(DATA) for f in fs
                     if not os.path.islink(os.path.join(r, f)))
    print("dataset %s: %.0f MiB; %d runs per side, alternating" % (DATA, data_bytes / 2**20, RUNS))
    times = {"local": [], "s3": []}
    size = 0
    for i in range(RUNS):
        order = [("local", local, local_inst), ("s3", s3, s3_inst)]
        if i % 2:
            order.reverse()
        for name, api, inst in order:
            t, size = backup(api, inst)
            times[name].append(t)
            print("  run %d %-5s %.2f s" % (i + 1, name, t), flush=True)
    fmt = lambda xs: "median %.2f s (min %.2f, max %.2f)" % (statistics.median(xs), min(xs), max(xs))
    ratios = [s / l for s, l in zip(times["s3"], times["local"])]
    print("archive: %.1f MiB" % (size / 2**20))
    print("backup into a local directory: %s" % fmt(times["local"]))
    print("backup into moto (S3 multipart): %s  -> %.0f MiB/s of archive" %
          (fmt(times["s3"]), size / 2**20 / statistics.median(times["s3"])))
    print("ratio s3/local (paired per run): median %.2fx (min %.2f, max %.2f)" %
          (statistics.median(ratios), min(ratios), max(ratios)))
    print("controller peak RSS (VmHWM): local %.1f MiB, s3 %.1f MiB" %
          (vm_hwm_kib(local_ctl.pid) / 1024, vm_hwm_kib(s3_ctl.pid) / 1024))


try:
    main()
finally:
    for p in children:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

"""The benches' client for a controller's REST API (bench/scale, bench/replicas).

One keep-alive HTTP connection per object (use one per thread). A request is
retried twice on a dropped connection. `call` returns the decoded JSON body of
a 2xx answer and otherwise calls `fail` with "METHOD PATH -> STATUS BODY",
which each bench overrides to stop the run and clean up (it must not return).
"""
import http.client
import json


class BenchApi:
    timeout = 120  # seconds per request

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)

    def fail(self, msg):
        raise RuntimeError(msg)

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
            except (http.client.HTTPException, OSError):
                self.conn.close()
                if attempt == 2:
                    raise

    def call(self, method, path, body=None):
        r, data = self.raw(method, "/api/v1" + path, body)
        if r.status >= 300:
            self.fail("%s %s -> %d %s" % (method, path, r.status, data.decode()[:300]))
        return json.loads(data) if data else None

    def health(self):
        r, data = self.raw("GET", "/healthz")
        return json.loads(data)

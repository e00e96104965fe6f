"""A keep-alive HTTP/1.1 relay in front of moto_server, counting the TCP
connections and requests its clients make (used by bench_s3.py).

moto's server (werkzeug) closes every connection after one answer, so a
client cannot keep a connection to it; S3 and its real compatibles keep them
open. This relay keeps client connections open the way S3 does: each request
read from a client connection is sent over a fresh connection to moto
("Expect" removed, so no interim answer), and the answer goes back with its
"Connection" header removed. Answers may be sized, chunked, or end with the
connection (then the client connection ends too).

    keepalive_relay.py UPSTREAM_PORT PORT_FILE STATS_FILE

It listens on 127.0.0.1 (port 0), writes its port to PORT_FILE, and rewrites
STATS_FILE ({"connections": N, "requests": M}, renamed into place) after every
accepted connection and every request. One thread per client connection.
"""
import json, os, socket, sys, threading

UPSTREAM = int(sys.argv[1])
PORT_FILE, STATS_FILE = sys.argv[2], sys.argv[3]
lock = threading.Lock()
stats = {"connections": 0, "requests": 0}


def bump(key):
    with lock:
        stats[key] += 1
        tmp = STATS_FILE + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, STATS_FILE)


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def more(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError
        self.buf += data

    def until(self, marker):
        while marker not in self.buf:
            self.more()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def copy(self, n, dest):
        while n > 0:
            if not self.buf:
                self.more()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            if dest is not None:
                dest.sendall(take)
            n -= len(take)


def headers(head):
    out = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def without(head, name):
    return b"\r\n".join(l for l in head.split(b"\r\n") if not l.lower().startswith(name + b":"))


def relay_one(client):
    head = client.until(b"\r\n\r\n")
    bump("requests")
    method = head.split(b" ", 1)[0]
    length = int(headers(head).get(b"content-length", b"0"))
    up = socket.create_connection(("127.0.0.1", UPSTREAM))
    try:
        up.sendall(without(head, b"expect"))
        client.copy(length, up)
        upr = Reader(up)
        while True:
            answer = upr.until(b"\r\n\r\n")
            status = int(answer.split(b" ", 2)[1])
            if not 100 <= status < 200:
                break
        h = headers(answer)
        no_body = method == b"HEAD" or status in (204, 304)
        chunked = b"chunked" in h.get(b"transfer-encoding", b"").lower()
        sized = b"content-length" in h
        if not no_body and not chunked and not sized:  # ends with the connection
            client.sock.sendall(answer + upr.buf)
            while True:
                data = up.recv(1 << 20)
                if not data:
                    return False
                client.sock.sendall(data)
        client.sock.sendall(without(answer, b"connection"))
        if no_body:
            pass
        elif sized:
            upr.copy(int(h[b"content-length"]), client.sock)
        else:
            while True:
                line = upr.until(b"\r\n")
                client.sock.sendall(line)
                if int(line.split(b";")[0], 16) == 0:
                    while True:
                        trailer = upr.until(b"\r\n")
                        client.sock.sendall(trailer)
                        if trailer == b"\r\n":
                            break
                    break
                upr.copy(int(line.split(b";")[0], 16) + 2, client.sock)
        return True
    finally:
        up.close()


def serve(conn):
    bump("connections")
    client = Reader(conn)
    try:
        while relay_one(client):
            pass
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with lock:
        with open(STATS_FILE, "w") as f:
            json.dump(stats, f)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.replace(PORT_FILE + ".tmp", PORT_FILE)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()

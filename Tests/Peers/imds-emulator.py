#!/usr/bin/env python3
"""A loopback stand-in for the EC2 instance metadata service, IMDSv2 only.

It follows the documented protocol: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds
(1-21600) returns a token; a PUT carrying X-Forwarded-For is refused (403); every GET under
/latest/meta-data/ must carry a valid, unexpired X-aws-ec2-metadata-token, else 401. Paths ending in "/"
list their children. Values come from a JSON file ({"placement/region": "us-east-1", ...}) re-read on
every request, so a test can change them. An optional statuses file ({"some/path": 500}), also re-read on
every request, makes a GET of a path answer that status instead, as an outage or throttling of one path
would. SIGUSR1 revokes every token. Each request is appended to the log file as "METHOD PATH STATUS".

Usage: imds-emulator.py --listen 127.54.1.1 --port 8080 --data values.json [--statuses statuses.json]
                        --log requests.log
"""
import argparse
import json
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

tokens = {}
lock = threading.Lock()


def revoke(*_):
    with lock:
        tokens.clear()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EC2ws"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with open(self.server.args.log, "a") as log:
            log.write(f"{self.command} {self.path} {status}\n")

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/latest/api/token":
            return self.reply(404, "Not Found")
        if self.headers.get("X-Forwarded-For"):
            return self.reply(403, "Forbidden")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            return self.reply(400, "Bad Request")
        if not 1 <= ttl <= 21600:
            return self.reply(400, "Bad Request")
        token = secrets.token_urlsafe(40)
        with lock:
            tokens[token] = time.monotonic() + ttl
        self.reply(200, token)

    def do_GET(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        with lock:
            expires = tokens.get(token)
        if expires is None or expires < time.monotonic():
            return self.reply(401, "Unauthorized")
        prefix = "/latest/meta-data/"
        if not self.path.startswith(prefix):
            return self.reply(404, "Not Found")
        key = self.path[len(prefix):]
        if self.server.args.statuses:
            with open(self.server.args.statuses) as f:
                status = json.load(f).get(key)
            if status is not None:
                return self.reply(int(status), f"HTTP {status}")
        with open(self.server.args.data) as f:
            data = json.load(f)
        if key in data:
            return self.reply(200, str(data[key]))
        if key == "" or key.endswith("/"):
            children = sorted({k[len(key):].split("/")[0] + ("/" if "/" in k[len(key):] else "")
                               for k in data if k.startswith(key)})
            if children:
                return self.reply(200, "\n".join(children))
        self.reply(404, "Not Found")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--data", required=True)
    parser.add_argument("--statuses")
    parser.add_argument("--log", default="/dev/null")
    args = parser.parse_args()
    if not args.listen.startswith("127."):
        sys.exit("imds-emulator: refusing to listen outside 127.0.0.0/8")
    signal.signal(signal.SIGUSR1, revoke)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((args.listen, args.port), Handler)
    server.args = args
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

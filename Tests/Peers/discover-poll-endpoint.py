#!/usr/bin/env python3
"""A DiscoverPollEndpoint peer for the stand-in agent (Tests/Peers/standin-agent/agent.sh in agent mode).

Usage:
  discover-poll-endpoint.py --listen 127.x.y.z --port N --acs ecs-a-3.us-east-1.amazonaws.com \
      --tcs ecs-t-3.us-east-1.amazonaws.com [--sc ecs-sc-3.us-east-1.amazonaws.com] \
      [--count FILE] [--log FILE] [--fail-while FILE]

Speaks the ECS API's JSON protocol in plain HTTP: `POST /` with `X-Amz-Target:
AmazonEC2ContainerServiceV20141113.<Operation>` and a JSON body (`containerInstance`, `cluster`).
- DiscoverPollEndpoint answers
  {"endpoint":"https://ACS","telemetryEndpoint":"https://TCS","serviceConnectEndpoint":"https://SC"}
  (SC defaults to the ACS host with ecs-a- replaced by ecs-sc-);
- RegisterContainerInstance answers {"containerInstance":{"containerInstanceArn":ARN}} with the ARN it was sent;
- anything else: 400 UnknownOperationException.
--count FILE: the number of DiscoverPollEndpoint calls answered so far, rewritten (atomically) after each one,
  "0" at start. --log FILE: one JSON line per request (time, operation, containerInstance, status).
--fail-while FILE: while FILE exists, DiscoverPollEndpoint answers 500 ServerException (the agent then reuses
  its expired cache entry, if any). Prints "ready" once listening. Refuses any address outside 127.0.0.0/8.
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."


def main():
    parser = argparse.ArgumentParser(description="DiscoverPollEndpoint peer (loopback only)")
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--acs", required=True, help="the ACS cell host (ecs-a-N.REGION.amazonaws.com)")
    parser.add_argument("--tcs", required=True, help="the TCS cell host (ecs-t-N.REGION.amazonaws.com)")
    parser.add_argument("--sc", help="the Service Connect host (default: from --acs)")
    parser.add_argument("--count")
    parser.add_argument("--log")
    parser.add_argument("--fail-while")
    args = parser.parse_args()
    if not args.listen.startswith("127."):
        sys.exit(f"discover-poll-endpoint: refusing to listen on {args.listen}: loopback only")
    sc = args.sc or args.acs.replace("ecs-a-", "ecs-sc-", 1)
    answer = {
        "endpoint": f"https://{args.acs}",
        "telemetryEndpoint": f"https://{args.tcs}",
        "serviceConnectEndpoint": f"https://{sc}",
    }
    lock = threading.Lock()
    calls = [0]

    def write_count():
        if args.count:
            with open(args.count + ".tmp", "w") as f:
                f.write(f"{calls[0]}\n")
            os.replace(args.count + ".tmp", args.count)

    def record(entry):
        if args.log:
            with open(args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def reply(self, status, document):
            body = json.dumps(document, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                request = json.loads(raw or b"{}")
            except ValueError:
                request = {}
            operation = (self.headers.get("X-Amz-Target") or "").removeprefix(TARGET_PREFIX)
            instance = request.get("containerInstance", "")
            with lock:
                if operation == "DiscoverPollEndpoint":
                    if args.fail_while and os.path.exists(args.fail_while):
                        status, document = 500, {"__type": "ServerException", "message": "failing on purpose"}
                    else:
                        calls[0] += 1
                        write_count()
                        status, document = 200, answer
                elif operation == "RegisterContainerInstance":
                    status, document = 200, {"containerInstance": {"containerInstanceArn": instance}}
                else:
                    status, document = 400, {"__type": "UnknownOperationException"}
                record({"time": time.time(), "operation": operation, "containerInstance": instance,
                        "host": self.headers.get("Host", ""), "status": status})
            self.reply(status, document)

        def do_GET(self):
            self.reply(400, {"__type": "UnknownOperationException"})

    server = http.server.ThreadingHTTPServer((args.listen, args.port), Handler)
    server.daemon_threads = True
    write_count()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

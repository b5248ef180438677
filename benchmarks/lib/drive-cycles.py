#!/usr/bin/env python3
"""Drives a running `ecsvpcd run` one cycle at a time over its control socket and prints its footprint.

Usage: drive-cycles.py CONTROL_SOCKET PID MARK...   (e.g. 100 1000 10000)
For each mark (cycles since the driver started), asks for cycles (reprobe, then status until the count moves),
then prints the heap in use, anonymous memory and RSS from the status's `process`, and the rate; at the end the
growth per 1,000 cycles between the second mark (or the first) and the last. Used by benchmarks/soak. (No CPU
figure: the status requests between cycles cost the daemon more than a cycle; benchmarks/agent-log and
benchmarks/daemon-vs-blackbox measure CPU on the daemon's own interval.)
"""
import json, os, socket, sys, time
path, pid, marks = sys.argv[1], sys.argv[2], [int(m) for m in sys.argv[3:]]

def ask(command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(json.dumps({"command": command}).encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)

def process():
    return ask("status")["status"]["process"]

def settled():  # the lowest heap of three reads with the cycle count unchanged
    reads = []
    while len(reads) < 3:
        p = process()
        if reads and reads[-1]["cycles"] != p["cycles"]:
            reads = []
        reads.append(p)
        time.sleep(0.01)
    return min(reads, key=lambda p: p["heapInUseBytes"])

start = process()["cycles"]
done, rows, t0 = start, [], time.monotonic()
for mark in marks:
    while done < start + mark:
        ask("reprobe")
        while True:
            c = process()["cycles"]
            if c != done:
                done = c
                break
    p = settled()
    rows.append((mark, p, time.monotonic() - t0))
    print(f"  {mark:>8} {p['heapAfterCycleBytes'] / 1024:>12.0f} {p['anonymousKiB']:>14} {p['rssKiB']:>10}"
          f" {mark / (time.monotonic() - t0):>10.0f}", flush=True)
if len(rows) >= 2:
    (m0, p0, _), (m1, p1, _) = rows[1] if len(rows) > 2 else rows[0], rows[-1]
    span = max(m1 - m0, 1)
    print(f"  growth per 1,000 cycles from cycle {m0} to {m1}: heap {(p1['heapAfterCycleBytes'] - p0['heapAfterCycleBytes']) * 1000 / span / 1024:+.2f} KiB,"
          f" anonymous {(p1['anonymousKiB'] - p0['anonymousKiB']) * 1000 / span:+.1f} KiB")

#!/usr/bin/env python3
"""TCP listeners on loopback addresses that accept and hold connections: the sandbox's "endpoints".

Usage: tcp-listeners.py 127.16.0.10:443 127.200.0.1:443 ...
Refuses any address outside 127.0.0.0/8.
"""
import selectors
import signal
import socket
import sys

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
selector = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    host, port = spec.rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit(f"tcp-listeners: refusing to listen on {host}: loopback only")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, int(port)))
    server.listen(128)
    server.setblocking(False)
    selector.register(server, selectors.EVENT_READ, "listen")
print("ready", flush=True)
while True:
    for key, _ in selector.select():
        if key.data == "listen":
            try:
                connection, _ = key.fileobj.accept()
            except OSError:
                continue
            connection.setblocking(False)
            selector.register(connection, selectors.EVENT_READ, "client")
        else:
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                key.fileobj.close()

# The sandbox's simulated VPC on loopback, for scripts/sandbox and benchmarks/check. Sourced, not run.
#   DNS: a real dnsmasq answering the three ECS names from a hosts file (public or VPC addresses);
#   instance metadata: the IMDSv2 emulator (Tests/Peers/imds-emulator.py); "endpoints": TCP listeners
#   (Tests/Peers/tcp-listeners.py) on the public and the VPC addresses.
# Every address is on loopback (127.0.0.0/8); nothing is sent anywhere else. Set the SANDBOX_ variables before
# calling sandbox_peers_start to move the peers (two sandboxes on one machine need different addresses).
#
#   . scripts/lib/sandbox-peers.sh
#   sandbox_peers_start "$dir"             # dnsmasq (public answers), IMDS, listeners; returns once all serve
#   sandbox_write_config "$dir" >"$dir/ecsvpcd.conf"
#   sandbox_flip_dns "$dir" vpc            # the endpoints "appear"; returns once dnsmasq serves them
#   sandbox_peers_stop                     # also from an EXIT trap

SANDBOX_REGION=${SANDBOX_REGION:-us-east-1}
SANDBOX_DNS=${SANDBOX_DNS:-127.53.0.1}
SANDBOX_IMDS=${SANDBOX_IMDS:-127.54.0.1}
SANDBOX_PORT=${SANDBOX_PORT:-443}
SANDBOX_VPC_CIDR=${SANDBOX_VPC_CIDR:-127.16.0.0/16}
SANDBOX_NAMES=(ecs-a ecs-t ecs)
[ -n "${SANDBOX_PUBLIC_ADDRESSES+set}" ] || SANDBOX_PUBLIC_ADDRESSES=(127.200.0.1 127.200.0.2 127.200.0.3)
[ -n "${SANDBOX_VPC_ADDRESSES+set}" ] || SANDBOX_VPC_ADDRESSES=(127.16.0.11 127.16.0.12 127.16.0.13)
# More "ADDRESS NAME" lines for the hosts file dnsmasq answers from (e.g. a name that is never public or VPC).
[ -n "${SANDBOX_EXTRA_HOSTS+set}" ] || SANDBOX_EXTRA_HOSTS=()
SANDBOX_PIDS=()

SANDBOX_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The full DNS name of the i-th watched name.
sandbox_name() { echo "${SANDBOX_NAMES[$1]}.$SANDBOX_REGION.amazonaws.com"; }

# Writes the hosts file dnsmasq answers from: the names on the public or on the VPC addresses.
sandbox_write_dns() { # DIR public|vpc
    local dir=$1 route=$2 i address
    : >"$dir/hosts.new"
    for i in 0 1 2; do
        if [ "$route" = vpc ]; then address=${SANDBOX_VPC_ADDRESSES[$i]}; else address=${SANDBOX_PUBLIC_ADDRESSES[$i]}; fi
        echo "$address $(sandbox_name "$i")" >>"$dir/hosts.new"
    done
    for i in "${SANDBOX_EXTRA_HOSTS[@]}"; do echo "$i" >>"$dir/hosts.new"; done
    echo "$route" >"$dir/route"
    echo "127.0.0.1 $route.sandbox-generation.test" >>"$dir/hosts.new"
    mv "$dir/hosts.new" "$dir/hosts"
}

# Waits until something accepts TCP on HOST PORT (10 s at most).
sandbox_wait_tcp() { # HOST PORT WHAT
    python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time
host, port, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit(f"sandbox: {what} at {host}:{port} did not start within 10 s")
PY
}

# Waits until dnsmasq answers the sentinel name of the current hosts file (route public or vpc).
sandbox_wait_dns() { # DIR
    local route
    route=$(cat "$1/route")
    python3 - "$SANDBOX_DNS" "$route.sandbox-generation.test" <<'PY'
import socket, struct, sys, time
server, name = sys.argv[1], sys.argv[2]
query = struct.pack(">HHHHHH", 0x5a5a, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(query, (server, 53))
        answer = s.recv(512)
        if struct.unpack(">H", answer[6:8])[0] > 0:
            sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(0.02)
sys.exit(f"sandbox: dnsmasq at {server} did not serve {name} within 10 s")
PY
}

sandbox_start_dns() { # DIR
    local dir=$1
    sandbox_write_dns "$dir" public
    dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --listen-address="$SANDBOX_DNS" \
        --bind-interfaces --port=53 --addn-hosts="$dir/hosts" --local=/amazonaws.com/ --local=/test/ --local-ttl=5 \
        --user=root --pid-file="$dir/dnsmasq.pid" --log-facility="$dir/dnsmasq.log" &
    SANDBOX_PIDS+=($!)
    sandbox_wait_dns "$dir"
}

sandbox_start_imds() { # DIR
    local dir=$1 mac=0e:00:00:00:00:01
    cat >"$dir/imds.json" <<JSON
{"placement/region": "$SANDBOX_REGION", "instance-id": "i-0123456789abcdef0", "mac": "$mac",
 "network/interfaces/macs/$mac/vpc-ipv4-cidr-blocks": "$SANDBOX_VPC_CIDR", "services/domain": "amazonaws.com"}
JSON
    python3 "$SANDBOX_REPO/Tests/Peers/imds-emulator.py" --listen "$SANDBOX_IMDS" --port 80 --data "$dir/imds.json" \
        --log "$dir/imds.log" >/dev/null &
    SANDBOX_PIDS+=($!)
    sandbox_wait_tcp "$SANDBOX_IMDS" 80 "the IMDSv2 emulator"
}

sandbox_start_listeners() {
    local specs=() address
    for address in "${SANDBOX_PUBLIC_ADDRESSES[@]}" "${SANDBOX_VPC_ADDRESSES[@]}"; do specs+=("$address:$SANDBOX_PORT"); done
    python3 "$SANDBOX_REPO/Tests/Peers/tcp-listeners.py" "${specs[@]}" >/dev/null &
    SANDBOX_PIDS+=($!)
    for address in "${SANDBOX_PUBLIC_ADDRESSES[@]}" "${SANDBOX_VPC_ADDRESSES[@]}"; do
        sandbox_wait_tcp "$address" "$SANDBOX_PORT" "the endpoint listener"
    done
}

# Starts every peer, DNS answering the public addresses, and returns once all of them serve.
sandbox_peers_start() { # DIR
    sandbox_start_dns "$1"
    sandbox_start_imds "$1"
    sandbox_start_listeners
}

# Rewrites the answers (public or vpc), reloads dnsmasq, and returns once it serves the new ones.
sandbox_flip_dns() { # DIR public|vpc
    sandbox_write_dns "$1" "$2"
    kill -HUP "$(cat "$1/dnsmasq.pid")"
    sandbox_wait_dns "$1"
}

# The configuration that points ecsvpcd at these peers only. Every path an instance takes stays on: the hosts file
# is an empty one of ours (not off: an empty hosts file once leaked 4 KiB a read), resolv.conf is ours naming the
# sandbox's dnsmasq, and the Amazon-provided resolver compared with it is that dnsmasq too.
sandbox_write_config() { # DIR
    mkdir -p "$1" "$1/ssm"
    : >"$1/hosts-empty"
    printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$SANDBOX_DNS" >"$1/resolv.conf"
    cat <<CONF
# The sandbox's peers, all on loopback.
ECSVPCD_IMDS_ENDPOINT=http://$SANDBOX_IMDS
ECSVPCD_RESOLV_CONF=$1/resolv.conf
ECSVPCD_DNS_SERVERS=$SANDBOX_DNS
ECSVPCD_HOSTS_FILE=$1/hosts-empty
ECSVPCD_AMAZON_DNS=$SANDBOX_DNS
ECSVPCD_PROBE_PORT=$SANDBOX_PORT
ECSVPCD_STATE_DIR=$1/state
ECSVPCD_RUNTIME_DIR=$1/run
ECSVPCD_SSM_INVENTORY=$1/ssm
ECSVPCD_METRICS_FILE=$1/textfile/ecsvpcd.prom
CONF
}

sandbox_peers_stop() {
    local pid
    for pid in "${SANDBOX_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SANDBOX_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    SANDBOX_PIDS=()
}

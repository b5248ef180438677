# Shared test peers for scripts/test and scripts/sandbox. Sourced, not run.
# Every address used here is on loopback (127.0.0.0/8); nothing is sent anywhere else.

PEER_PACKAGES="dnsmasq-base iptables libsystemd-dev busybox-static docker.io netcat-openbsd python3 systemd"

peers_install_packages() {
    local missing=()
    for p in $PEER_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing: ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Addresses in 127.250.0.0/16 never answer: the "timeout" case of the TCP probe.
PEERS_DROP_RULE=(OUTPUT -d 127.250.0.0/16 -p tcp -m comment --comment ecsvpcd-test -j DROP)

peers_start() {
    local run_dir=$1
    iptables -C "${PEERS_DROP_RULE[@]}" 2>/dev/null || iptables -I "${PEERS_DROP_RULE[@]}"
}

peers_stop() {
    local run_dir=$1
    local pidfile
    for pidfile in "$run_dir"/*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    while iptables -C "${PEERS_DROP_RULE[@]}" 2>/dev/null; do iptables -D "${PEERS_DROP_RULE[@]}"; done
    rm -rf "$run_dir"
}

# Shared test peers for scripts/test and scripts/sandbox. Sourced, not run.
# Every address used here is on loopback (127.0.0.0/8); nothing is sent anywhere else.

# prometheus for promtool (it checks the metrics file), prometheus-node-exporter for the textfile test.
PEER_PACKAGES="dnsmasq-base iptables libsystemd-dev busybox-static docker.io netcat-openbsd python3 systemd prometheus prometheus-node-exporter"

peers_install_packages() {
    local missing=()
    for p in $PEER_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing: ${missing[*]}" >&2
        apt-get update -qq
        # Installing docker.io would start, and enable at boot, the distribution's own dockerd and containerd,
        # with a docker0 bridge and its firewall rules; the tests and the sandbox run a dockerd of their own. So
        # packaged services are not started during this install, and Docker's are disabled where it installed them.
        local policy=/usr/sbin/policy-rc.d placed=""
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\n# ecsvpcd peers_install_packages: start no service while installing\nexit 101\n' >"$policy"
            chmod 755 "$policy"
            placed=1
        fi
        local status=0
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
        if [ -n "$placed" ]; then rm -f "$policy"; fi
        [ "$status" = 0 ] || return "$status"
        case " ${missing[*]} " in
        *" docker.io "*)
            if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                systemctl disable --now docker.service docker.socket containerd.service >/dev/null 2>&1 || true
            fi
            ;;
        esac
        # The Prometheus server and node_exporter (listening on :9090 and :9100 of every address) are tools here:
        # the tests run promtool and a node_exporter of their own on loopback.
        case " ${missing[*]} " in
        *" prometheus "* | *" prometheus-node-exporter "*)
            if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                systemctl disable --now prometheus.service prometheus-node-exporter.service >/dev/null 2>&1 || true
            fi
            ;;
        esac
    fi
}

# Addresses in 127.250.0.0/16 never answer: the "timeout" case of the TCP probe. Each run adds its own rule
# (named after its run directory) and removes only that one, so runs side by side do not pull it from each other.
peers_drop_rule() { echo OUTPUT -d 127.250.0.0/16 -p tcp -m comment --comment "ecsvpcd-test-$(basename "$1")" -j DROP; }

peers_start() {
    local run_dir=$1
    # shellcheck disable=SC2046
    iptables -C $(peers_drop_rule "$run_dir") 2>/dev/null || iptables -I $(peers_drop_rule "$run_dir")
    peers_start_dockerd "$run_dir"
}

peers_stop() {
    local run_dir=$1
    local pidfile
    peers_stop_dockerd "$run_dir"
    for pidfile in "$run_dir"/*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    # shellcheck disable=SC2046
    while iptables -C $(peers_drop_rule "$run_dir") 2>/dev/null; do iptables -D $(peers_drop_rule "$run_dir"); done
    rm -rf "$run_dir"
}

# dockerd, shared by the whole run: its own socket, data root and exec root, no iptables, no bridge, the
# containerd it starts itself. Tests find it through ECSVPCD_TEST_DOCKER_HOST and run the stand-in agent
# image (busybox-static + Tests/Peers/standin-agent/agent.sh) with --network host. A test that needs Docker
# fails when the variable is missing, so a failed start here is reported, not fatal.
PEERS_DOCKER_DATA_ROOT=${PEERS_DOCKER_DATA_ROOT:-/var/lib/ecsvpcd-test-docker}
PEERS_STANDIN_IMAGE=ecsvpcd-standin-agent:test

peers_docker() { docker -H "unix://$1/docker.sock" "${@:2}"; }

peers_start_dockerd() {
    local run_dir=$1 i
    mkdir -p "$run_dir/exec"
    dockerd --host "unix://$run_dir/docker.sock" --data-root "$PEERS_DOCKER_DATA_ROOT" \
        --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
        --iptables=false --ip6tables=false --bridge=none >"$run_dir/dockerd.log" 2>&1 &
    for i in $(seq 1 300); do
        peers_docker "$run_dir" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! peers_docker "$run_dir" version >/dev/null 2>&1; then
        echo "dockerd did not start; tests that need Docker will fail. Its log:" >&2
        tail -20 "$run_dir/dockerd.log" >&2
        return 0
    fi
    # Containers left by a run that was killed before peers_stop.
    peers_docker "$run_dir" ps -aq --filter label=ecsvpcd-test | xargs -r docker -H "unix://$run_dir/docker.sock" rm -f >/dev/null
    peers_build_standin_image "$run_dir"
    export ECSVPCD_TEST_DOCKER_HOST="unix://$run_dir/docker.sock"
}

# Imports the stand-in agent image unless one built from the same busybox and script is already there.
peers_build_standin_image() {
    local run_dir=$1 script busybox hash rootfs applet
    script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/Tests/Peers/standin-agent/agent.sh"
    busybox=$(command -v busybox)
    hash=$(cat "$busybox" "$script" | sha256sum | cut -c1-16)
    if [ "$(peers_docker "$run_dir" image inspect -f '{{index .Config.Labels "ecsvpcd.standin"}}' \
        "$PEERS_STANDIN_IMAGE" 2>/dev/null)" = "$hash" ]; then
        return 0
    fi
    rootfs="$run_dir/standin-rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in sh awk cat httpd kill mkdir mkfifo nc nslookup printf ps sleep; do ln -sf busybox "$rootfs/bin/$applet"; done
    cp "$script" "$rootfs/agent.sh"
    chmod 755 "$rootfs/agent.sh"
    tar -C "$rootfs" -c . | peers_docker "$run_dir" import \
        -c 'ENTRYPOINT ["/bin/sh", "/agent.sh"]' -c "LABEL ecsvpcd.standin=$hash" -c 'ENV PATH=/bin' \
        - "$PEERS_STANDIN_IMAGE" >/dev/null
    rm -rf "$rootfs"
}

peers_stop_dockerd() {
    local run_dir=$1 pid i
    [ -e "$run_dir/dockerd.pid" ] || return 0
    peers_docker "$run_dir" ps -aq | xargs -r docker -H "unix://$run_dir/docker.sock" rm -f >/dev/null 2>&1 || true
    pid=$(cat "$run_dir/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$run_dir/dockerd.pid"
    # dockerd leaves its default network namespace bind-mounted under the exec root; unmount it so the run
    # directory can be removed.
    awk -v dir="$run_dir/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
}

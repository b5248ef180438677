#!/bin/busybox sh
# A stand-in for the Amazon ECS container agent, run as container `ecs-agent` with host networking:
# - serves the introspection API (/v1/metadata) on 127.0.0.1:$INTROSPECTION_PORT;
# - resolves $ECS_NAME through $DNS_SERVER (IP or IP:PORT) and holds one TCP connection to the first
#   address on $PROBE_PORT, re-resolving and reconnecting whenever it drops, like the agent's ACS websocket;
#   $PROBE_ADDRESS connects to a fixed address instead, without DNS;
# - exits 0 promptly on SIGTERM, as the real agent does.
# Only ever pass loopback addresses (127.0.0.0/8).
set -u

INTROSPECTION_PORT=${INTROSPECTION_PORT:-51678}
AGENT_VERSION=${AGENT_VERSION:-Amazon ECS Agent - v1.86.0 (standin)}
AGENT_CLUSTER=${AGENT_CLUSTER:-sandbox}
AGENT_INSTANCE_ARN=${AGENT_INSTANCE_ARN:-arn:aws:ecs:us-east-1:123456789012:container-instance/sandbox/0123456789abcdef0123456789abcdef}
ECS_NAME=${ECS_NAME:-}
DNS_SERVER=${DNS_SERVER:-}
PROBE_PORT=${PROBE_PORT:-443}
PROBE_ADDRESS=${PROBE_ADDRESS:-}

# pid 1 ignores signals it has no handler for; exiting pid 1 ends every other process of the container.
trap 'exit 0' TERM INT

mkdir -p /www/v1
printf '{"Cluster":"%s","ContainerInstanceArn":"%s","Version":"%s"}' \
    "$AGENT_CLUSTER" "$AGENT_INSTANCE_ARN" "$AGENT_VERSION" > /www/v1/metadata
httpd -f -p "127.0.0.1:$INTROSPECTION_PORT" -h /www &

# The first A record in busybox nslookup's answer (the lines after "Name:"; the earlier Address is the server).
resolve() {
    nslookup -type=a "$ECS_NAME" ${DNS_SERVER:+"$DNS_SERVER"} 2>/dev/null \
        | awk '/^Name:/ { answer = 1; next } answer && /^Address/ { sub(/^Address( [0-9]+)?:[ \t]*/, ""); print; exit }'
}

hold_connection() {
    mkfifo /tmp/hold
    while :; do
        address=$PROBE_ADDRESS
        if [ -z "$address" ] && [ -n "$ECS_NAME" ]; then address=$(resolve); fi
        if [ -n "$address" ]; then
            echo "standin-agent: connecting to $address:$PROBE_PORT"
            # nc holds the connection until the peer closes it; its stdin (a FIFO opened read-write) never ends.
            nc "$address" "$PROBE_PORT" <> /tmp/hold > /dev/null
        fi
        sleep 1
    done
}

if [ -n "$PROBE_ADDRESS" ] || [ -n "$ECS_NAME" ]; then hold_connection & fi
echo "standin-agent: introspection on 127.0.0.1:$INTROSPECTION_PORT"
# `wait` returns when a trapped signal arrives, so the trap runs at once.
while :; do wait; sleep 1; done

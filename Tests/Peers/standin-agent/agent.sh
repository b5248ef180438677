#!/bin/busybox sh
# A stand-in for the Amazon ECS container agent, run as container `ecs-agent` with host networking.
# Only ever pass loopback addresses (127.0.0.0/8). Busybox runs its applets from this shell without links.
#
# Simple mode (DISCOVER_PORT and ECS_BACKEND_HOST unset), as before:
# - serves the introspection API (/v1/metadata) on 127.0.0.1:$INTROSPECTION_PORT at once;
# - resolves $ECS_NAME through $DNS_SERVER (IP or IP:PORT) and holds one TCP connection to the first
#   address on $PROBE_PORT, re-resolving and reconnecting whenever it drops, like the agent's ACS websocket;
#   $PROBE_ADDRESS connects to a fixed address instead, without DNS;
# - exits 0 promptly on SIGTERM, as the real agent does;
# - in both modes, exits with the code in /tmp/exit-code (default 1) on SIGUSR1 (supervisor tests).
#
# Agent mode (DISCOVER_PORT or ECS_BACKEND_HOST set) models agent 1.105.1 (aws/amazon-ecs-agent at 8dfceca),
# read from these files of its source (nothing copied):
# - agent/app/agent.go: "Starting Amazon ECS Agent", registration (RegisterContainerInstance, retried), and
#   only then the introspection server, TCS (startAsyncRoutines) and ACS ("Beginning Polling for updates");
# - ecs-agent/api/ecs/client/ecs_client.go (discoverPollEndpoint): one DiscoverPollEndpoint answer, cached
#   for $CACHE_TTL seconds (12 h there) keyed by the container instance ARN, shared by ACS and TCS, the
#   expired entry reused when the call fails; "Invoking DiscoverPollEndpoint" (debug) on a miss, "Using cached
#   DiscoverPollEndpoint" on a hit;
# - ecs-agent/acs/session/session.go (Start, startSessionOnce, reconnectDelay, acsURL) and
#   ecs-agent/tcs/handler/handler.go (Start, StartTelemetrySession, formatURL): every dial asks the cache
#   first; the websocket URLs and the reconnect lines;
# - ecs-agent/wsclient/client.go (Connect, newDisconnectTimeoutHandler, CloseClient): "Establishing a
#   Websocket connection", "Websocket connection established." (ExpectedDisconnectTime = ConnectTime +
#   DisconnectTimeout, without the jitter), and the agent's own close after DisconnectTimeout (30 min) plus
#   up to DisconnectJitterMax (5 min): here $REDIAL_SECONDS plus up to $REDIAL_JITTER_SECONDS;
# - ecs-agent/logger/log.go and format.go: logfmt, `level=L time=RFC3339-UTC msg="…" key="value"…`; fields of
#   a structured line come from a Go map (random order there, a fixed order here); plain seelog lines end in
#   ` module=FILE`;
# - agent/sighandlers/termination_handler.go: "Agent received termination signal: terminated", exit 0.
# Each websocket is a TCP connection (nc) to the first address of the cell host (ecs-a-N / ecs-t-N from the
# answer) on $PROBE_PORT, the host resolved through $DNS_SERVER on every dial: Go keeps no DNS cache.
#
# The backend (DiscoverPollEndpoint and RegisterContainerInstance; Tests/Peers/discover-poll-endpoint.py) is
# spoken to as the ECS API is, in plain HTTP: `POST /` with `X-Amz-Target:
# AmazonEC2ContainerServiceV20141113.<Operation>`, `Content-Type: application/x-amz-json-1.1`, body
# `{"cluster":"…","containerInstance":"ARN"}`. The DiscoverPollEndpoint answer must be one flat JSON object with
# string values and no escaped quotes, e.g.
#   {"endpoint":"https://ecs-a-3.us-east-1.amazonaws.com","telemetryEndpoint":"https://ecs-t-3.us-east-1.amazonaws.com","serviceConnectEndpoint":"https://ecs-sc-3.us-east-1.amazonaws.com"}
# (that is the API's own shape); any 2xx answer to RegisterContainerInstance counts as registered.
set -u

INTROSPECTION_PORT=${INTROSPECTION_PORT:-51678}
AGENT_VERSION=${AGENT_VERSION:-Amazon ECS Agent - v1.86.0 (standin)}
AGENT_CLUSTER=${AGENT_CLUSTER:-sandbox}
AGENT_INSTANCE_ARN=${AGENT_INSTANCE_ARN:-arn:aws:ecs:us-east-1:123456789012:container-instance/sandbox/0123456789abcdef0123456789abcdef}
ECS_NAME=${ECS_NAME:-}
DNS_SERVER=${DNS_SERVER:-}
PROBE_PORT=${PROBE_PORT:-443}
PROBE_ADDRESS=${PROBE_ADDRESS:-}
# Agent mode.
DISCOVER_PORT=${DISCOVER_PORT:-}
ECS_BACKEND_HOST=${ECS_BACKEND_HOST:-}
AWS_REGION=${AWS_REGION:-us-east-1}
CACHE_TTL=${CACHE_TTL:-43200}
REDIAL_SECONDS=${REDIAL_SECONDS:-1800}
REDIAL_JITTER_SECONDS=${REDIAL_JITTER_SECONDS:-300}
RETRY_SECONDS=${RETRY_SECONDS:-1}
AGENT_LOG_FILE=${AGENT_LOG_FILE:-}
ECS_LOGLEVEL=${ECS_LOGLEVEL:-debug}
DOCKER_VERSION=${DOCKER_VERSION:-}

mkdir -p /www/v1
printf '{"Cluster":"%s","ContainerInstanceArn":"%s","Version":"%s"}' \
    "$AGENT_CLUSTER" "$AGENT_INSTANCE_ARN" "$AGENT_VERSION" > /www/v1/metadata
serve_introspection() { httpd -f -p "127.0.0.1:$INTROSPECTION_PORT" -h /www & }
# SIGUSR1: exit with the code in /tmp/exit-code (default 1), for tests of the supervisor (ecs-init: 5 terminal,
# 42 upgrade, others restart): docker exec ecs-agent sh -c 'echo 5 >/tmp/exit-code; kill -USR1 1'.
exit_as_told() {
    code=$(cat /tmp/exit-code 2>/dev/null)
    exit "${code:-1}"
}

# The first A record of NAME in busybox nslookup's answer through $DNS_SERVER (the lines after "Name:"; the
# earlier Address is the server).
resolve() {
    nslookup -type=a "$1" ${DNS_SERVER:+"$DNS_SERVER"} 2>/dev/null \
        | awk '/^Name:/ { answer = 1; next } answer && /^Address/ { sub(/^Address( [0-9]+)?:[ \t]*/, ""); print; exit }'
}

# ---------------------------------------------------------------------------------------------------------------
# Simple mode.

if [ -z "$DISCOVER_PORT" ] && [ -z "$ECS_BACKEND_HOST" ]; then
    # pid 1 ignores signals it has no handler for; exiting pid 1 ends every other process of the container.
    trap 'exit 0' TERM INT
    trap 'exit_as_told' USR1
    serve_introspection
    hold_connection() {
        mkfifo /tmp/hold
        while :; do
            address=$PROBE_ADDRESS
            if [ -z "$address" ] && [ -n "$ECS_NAME" ]; then address=$(resolve "$ECS_NAME"); fi
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
fi

# ---------------------------------------------------------------------------------------------------------------
# Agent mode.

[ -n "$ECS_NAME" ] || ECS_NAME=ecs.$AWS_REGION.amazonaws.com
started=$(date +%s)

# "Amazon ECS Agent - v1.105.1 (*a8b3e7d3)" → 1.105.1 and a8b3e7d3 (agent/version: Version, GitShortHash).
version_number=$(echo "$AGENT_VERSION" | sed -n 's/.* v\([^ ]*\).*/\1/p')
version_hash=$(echo "$AGENT_VERSION" | sed -n 's/.*(\**\([^)]*\)).*/\1/p')
[ -n "$version_number" ] || version_number=0.0.0
[ -n "$version_hash" ] || version_hash=standin

level_rank() { case $1 in trace) echo 0 ;; debug) echo 1 ;; info) echo 2 ;; warn) echo 3 ;; error) echo 4 ;; *) echo 5 ;; esac; }
log_rank=$(level_rank "$ECS_LOGLEVEL")

# A Go %q string (enough for these values: backslashes and double quotes escaped).
q() {
    case $1 in
    *[\\\"]*) printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')" ;;
    *) printf '"%s"' "$1" ;;
    esac
}

# log LEVEL MESSAGE [key=formatted-value]…: one logfmt line to stdout and, with $AGENT_LOG_FILE, appended there.
log() {
    [ "$(level_rank "$1")" -ge "$log_rank" ] || return 0
    line="level=$1 time=$(date -u +%Y-%m-%dT%H:%M:%SZ) msg=$(q "$2")"
    shift 2
    for field in "$@"; do line="$line $field"; done
    printf '%s\n' "$line"
    if [ -n "$AGENT_LOG_FILE" ]; then printf '%s\n' "$line" >> "$AGENT_LOG_FILE"; fi
}

# Go's url.QueryEscape.
urlencode() {
    s=$1 out=""
    while [ -n "$s" ]; do
        c=${s%"${s#?}"}
        s=${s#?}
        case $c in
        [A-Za-z0-9._~-]) out="$out$c" ;;
        " ") out="$out+" ;;
        *) out="$out$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

# A time.Duration of whole seconds as Go prints it (1h2m3s, 31m30s, 45s).
go_duration() {
    h=$(($1 / 3600)) m=$(($1 % 3600 / 60)) s=$(($1 % 60))
    if [ "$h" -gt 0 ]; then echo "${h}h${m}m${s}s"; elif [ "$m" -gt 0 ]; then echo "${m}m${s}s"; else echo "${s}s"; fi
}
datetime() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
# A Go time.Time printed with %+v (wall clock and monotonic reading).
go_time() { echo "$(datetime "$1") +0000 UTC m=+$(($1 - started)).000000000"; }

arn_field="containerInstanceARN=$(q "$AGENT_INSTANCE_ARN")"

# The backend's address and port: ECS_BACKEND_HOST (HOST, HOST:PORT or a URL; a name is resolved through
# $DNS_SERVER), else $ECS_NAME resolved through $DNS_SERVER, on $DISCOVER_PORT.
backend() {
    host=${ECS_BACKEND_HOST#*://}
    host=${host%%/*}
    port=$DISCOVER_PORT
    case $host in
    "") host=$ECS_NAME ;;
    *:*) port=${host##*:} host=${host%:*} ;;
    esac
    [ -n "$port" ] || port=443
    case $host in
    *[!0-9.]*) address=$(resolve "$host") ;;
    *) address=$host ;;
    esac
    if [ -z "$address" ]; then
        echo "dial tcp: lookup $host: no such host" > /tmp/call.err
        return 1
    fi
    echo "$address:$port $host"
}

# call OPERATION: POST the ECS API call to the backend; the answer in /tmp/call.out, an error in /tmp/call.err.
call() {
    target=$(backend) || return 1
    set -- "$1" ${target}
    body="{\"cluster\":\"$AGENT_CLUSTER\",\"containerInstance\":\"$AGENT_INSTANCE_ARN\"}"
    # (busybox 1.35 wget crashes with -T: the timeout applet bounds it instead)
    if timeout 10 wget -q -O /tmp/call.out --header "Host: $3" \
        --header "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" \
        --header "Content-Type: application/x-amz-json-1.1" --post-data "$body" "http://$2/" 2>/tmp/call.err; then
        return 0
    fi
    # Go's wording: Post "https://HOST/": dial tcp ADDRESS:PORT: connect: connection refused.
    reason=$(sed -n '$s/^wget: //p' /tmp/call.err)
    case $reason in
    *"can't connect"*) reason="dial tcp $2: connect: $(echo "${reason##*: }" | tr 'A-Z' 'a-z')" ;;
    esac
    printf 'Post "https://%s/": %s' "$3" "$reason" > /tmp/call.err.new
    mv /tmp/call.err.new /tmp/call.err
    return 1
}

json_string() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p" /tmp/call.out; }

# The poll endpoint cache, shared by the ACS and TCS loops (a file, under a mkdir lock): lines ARN, stored-at,
# endpoint, telemetryEndpoint, serviceConnectEndpoint.
lock() { while ! mkdir /tmp/dpe.lock 2>/dev/null; do sleep 0.05; done; }
unlock() { rmdir /tmp/dpe.lock; }

endpoint_fields() {
    echo "$arn_field endpoint=$(q "$1") telemetryEndpoint=$(q "$2") serviceConnectEndpoint=$(q "$3") systemLogsEndpoint=\"\""
}

# discover: sets endpoint, telemetry_endpoint, sc_endpoint (ecs_client.go discoverPollEndpoint); 1 on failure,
# the error in discover_error.
discover() {
    lock
    found="" expired=""
    if [ -s /tmp/dpe.cache ] && [ "$(sed -n 1p /tmp/dpe.cache)" = "$AGENT_INSTANCE_ARN" ]; then
        found=1
        stored=$(sed -n 2p /tmp/dpe.cache)
        endpoint=$(sed -n 3p /tmp/dpe.cache)
        telemetry_endpoint=$(sed -n 4p /tmp/dpe.cache)
        sc_endpoint=$(sed -n 5p /tmp/dpe.cache)
        [ "$(date +%s)" -lt $((stored + CACHE_TTL)) ] || expired=1
    fi
    if [ -n "$found" ] && [ -z "$expired" ]; then
        log info "Using cached DiscoverPollEndpoint" "$(endpoint_fields "$endpoint" "$telemetry_endpoint" "$sc_endpoint")"
        unlock
        return 0
    fi
    log debug "Invoking DiscoverPollEndpoint" "$arn_field" 'availabilityZone=""'
    if call DiscoverPollEndpoint && [ -n "$(json_string endpoint)" ]; then
        endpoint=$(json_string endpoint)
        telemetry_endpoint=$(json_string telemetryEndpoint)
        sc_endpoint=$(json_string serviceConnectEndpoint)
        printf '%s\n%s\n%s\n%s\n%s\n' "$AGENT_INSTANCE_ARN" "$(date +%s)" "$endpoint" "$telemetry_endpoint" \
            "$sc_endpoint" > /tmp/dpe.cache.new
        mv /tmp/dpe.cache.new /tmp/dpe.cache
        unlock
        return 0
    fi
    discover_error=$(cat /tmp/call.err 2>/dev/null)
    [ -n "$discover_error" ] || discover_error="DiscoverPollEndpoint: unexpected answer: $(head -c 200 /tmp/call.out 2>/dev/null)"
    if [ -n "$expired" ]; then
        log info "Error calling DiscoverPollEndpoint. Using cached-but-expired endpoint as a fallback." \
            "$(endpoint_fields "$endpoint" "$telemetry_endpoint" "$sc_endpoint")"
        unlock
        return 0
    fi
    unlock
    return 1
}

# The TCP state of PID's socket from /proc/net/tcp (01 established, 02 SYN sent), empty if none.
socket_state() {
    for fd in /proc/"$1"/fd/*; do
        link=$(readlink "$fd" 2>/dev/null) || continue
        case $link in socket:*) inode=${link#socket:[} inode=${inode%]} ;; *) continue ;; esac
        awk -v inode="$inode" '$10 == inode { print $4; exit }' /proc/net/tcp
    done
}

# websocket NAME URL: dials the URL's host on $PROBE_PORT (wsclient Connect) and holds the connection until
# the agent's own disconnect timer or the server ends it. Returns 0 after a connection ("valid reason"),
# 1 when the dial failed (the error in dial_error). connected_hook runs once connected.
websocket() {
    name=$1 url=$2
    log info "Establishing a Websocket connection" "url=$(q "$url")"
    host=${url#*://}
    host=${host%%/*}
    host=${host%:*}
    case $host in
    *[!0-9.]*) address=$(resolve "$host") ;;
    *) address=$host ;;
    esac
    if [ -z "$address" ]; then
        dial_error="dial tcp: lookup $host: no such host"
        return 1
    fi
    [ -p "/tmp/hold-$name" ] || mkfifo "/tmp/hold-$name"
    # nc holds the connection until the peer closes it; its stdin (a FIFO opened read-write) never ends.
    nc -w 30 "$address" "$PROBE_PORT" <> "/tmp/hold-$name" > /dev/null 2> "/tmp/nc-$name.err" &
    nc_pid=$!
    while :; do
        if ! kill -0 "$nc_pid" 2>/dev/null; then
            wait "$nc_pid" 2>/dev/null
            # nc: "can't connect to remote host (ADDRESS): Connection refused" → Go's "connect: connection refused".
            reason=$(sed -n 's/^nc: //p' "/tmp/nc-$name.err" | tail -n 1)
            case $reason in
            *timed*) reason="i/o timeout" ;;
            *": "*) reason="connect: $(echo "${reason##*: }" | tr 'A-Z' 'a-z')" ;;
            esac
            dial_error="dial tcp $address:$PROBE_PORT: ${reason:-connection closed}"
            return 1
        fi
        [ "$(socket_state "$nc_pid")" = 01 ] && break
        sleep 0.05
    done
    connect_time=$(date +%s)
    jitter=0
    [ "$REDIAL_JITTER_SECONDS" -gt 0 ] && jitter=$((RANDOM % (REDIAL_JITTER_SECONDS + 1)))
    max_duration=$((REDIAL_SECONDS + jitter))
    log info "Websocket connection established." "URL=$(q "$url")" "ConnectTime=$(q "$(datetime "$connect_time")")" \
        "maxConnectionDuration=$(go_duration "$max_duration")" \
        "ExpectedDisconnectTime=$(q "$(datetime $((connect_time + REDIAL_SECONDS)))")"
    connected_hook "$connect_time"
    deadline=$((connect_time + max_duration))
    while kill -0 "$nc_pid" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log warn "Closing connection" "URL=$(q "$url")" "ConnectionStartTime=$(q "$(datetime "$connect_time")")" \
                "MaxDisconnectionTime=$(q "$(datetime "$deadline")")"
            kill "$nc_pid" 2>/dev/null
            wait "$nc_pid" 2>/dev/null
            log info "Disconnected from server." "URL=$(q "$url")"
            return 0
        fi
        sleep 0.2
    done
    wait "$nc_pid" 2>/dev/null
    # A server's close (or a dropped connection, close code 1006) is io.EOF to the session: a valid reason.
    log debug "Connection closed for a valid reason: websocket: close 1006 (abnormal closure): unexpected EOF" \
        "URL=$(q "$url")"
    # The stand-in's own guard against a listener that closes at once (the agent would redial at once).
    sleep 1
    return 0
}

# ACS (session.go Start / startSessionOnce / reconnectDelay).
acs_loop() {
    while :; do
        log debug "Received connect to ACS message. Attempting connect to ACS" "$arn_field"
        if ! discover; then
            log error "ACS: Unable to discover poll endpoint" "$arn_field" "error=$(q "$discover_error")"
            acs_error=$discover_error
        else
            query="agentHash=$(urlencode "$version_hash")&agentVersion=$(urlencode "$version_number")"
            query="$query&clusterArn=$(urlencode "$AGENT_CLUSTER")&containerInstanceArn=$(urlencode "$AGENT_INSTANCE_ARN")"
            [ -z "$DOCKER_VERSION" ] || query="$query&dockerVersion=$(urlencode "DockerVersion: $DOCKER_VERSION")"
            query="$query&protocolVersion=2&sendCredentials=$send_credentials&seqNum=1"
            connected_hook() {
                log info "Connected to ACS endpoint" "$arn_field" "lastConnectedTime=$(go_time "$1")"
                send_credentials=false
            }
            if websocket acs "${endpoint%/}/ws?$query"; then
                log info "Current ACS session is done and a new one might be created." "$arn_field"
                log info "ACS WebSocket connection closed for a valid reason" "$arn_field"
                log info "Reconnecting to ACS immediately without waiting" "$arn_field"
                continue
            fi
            log error "Failed to connect to ACS" "$arn_field" "error=$(q "$dial_error")"
            acs_error=$dial_error
        fi
        log warn "ACS WebSocket connection closed" "$arn_field" "error=$(q "$acs_error")"
        log info "Waiting before reconnecting to ACS" "reconnectDelay=$(q "$(go_duration "$RETRY_SECONDS")")" "$arn_field"
        sleep "$RETRY_SECONDS"
        log info "Done waiting; reconnecting to ACS" "$arn_field"
    done
}

# TCS (handler.go Start / StartTelemetrySession / formatURL).
tcs_loop() {
    while :; do
        if ! discover; then
            log error "tcs: unable to discover poll endpoint" "error=$(q "$discover_error")"
            tcs_error=$discover_error
        else
            query="agentHash=$(urlencode "$version_hash")&agentVersion=$(urlencode "$version_number")"
            query="$query&cluster=$(urlencode "$AGENT_CLUSTER")&containerInstance=$(urlencode "$AGENT_INSTANCE_ARN")"
            [ -z "$DOCKER_VERSION" ] || query="$query&dockerVersion=$(urlencode "$DOCKER_VERSION")"
            connected_hook() { log info "Connected to TCS endpoint"; }
            if websocket tcs "${telemetry_endpoint%/}/ws?$query"; then
                log info "TCS Websocket connection closed for a valid reason"
                continue
            fi
            log error "Error connecting to TCS" "error=$(q "$dial_error")"
            tcs_error=$dial_error
        fi
        # A plain seelog line (seelog.Error), so logfmt adds the module.
        log error "Error: lost websocket connection with ECS Telemetry service (TCS): $tcs_error" "module=handler.go"
        sleep "$RETRY_SECONDS"
    done
}

agent_main() {
    log info "Starting Amazon ECS Agent" "version=$(q "$version_number")" "commit=$(q "$version_hash")"
    log info "Loading configuration"
    log info "Registering Instance with ECS"
    until call RegisterContainerInstance; do
        log error "Received non-terminal error from RegisterContainerInstance call, retrying with exponential backoff" \
            "error=$(q "$(cat /tmp/call.err)")"
        sleep "$RETRY_SECONDS"
    done
    log info "Instance registration completed successfully" "instanceArn=$(q "$AGENT_INSTANCE_ARN")" \
        "cluster=$(q "$AGENT_CLUSTER")"
    # startAsyncRoutines: the introspection server, then the telemetry session; then the ACS session.
    serve_introspection
    tcs_loop &
    log info "Beginning Polling for updates"
    send_credentials=true
    acs_loop
}

terminate() {
    # A plain seelog line (seelog.Infof), then the ACS session ends with the agent's context.
    log info "Agent received termination signal: $1" "module=termination_handler.go"
    log info "ACS session ended (context closed)" 'reason="context canceled"' "$arn_field"
    exit 0
}
trap 'terminate terminated' TERM
trap 'terminate interrupt' INT
trap 'exit_as_told' USR1
rm -rf /tmp/dpe.lock /tmp/dpe.cache
agent_main &
# `wait` returns when a trapped signal arrives, so the trap runs at once.
while :; do wait; sleep 1; done

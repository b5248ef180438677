#!/bin/sh
# private-journal.sh OUT COMMAND [ARG...]
#
# Runs COMMAND with its own systemd-journald: in a private mount namespace with tmpfs on /run/systemd
# (sockets, config) and /run/log (the volatile journal). When COMMAND is done it syncs the journal,
# writes it to OUT as `journalctl -o json` lines and exits with COMMAND's status.
#
# By default it also uses a new PID namespace whose PID 1 is this shell, and unshare runs with
# --kill-child, so journald and anything COMMAND left behind die with it, however it ends. With
# PRIVATE_JOURNAL_HOST_PIDS=1 it keeps the host's PIDs (for a COMMAND that must see other processes in
# /proc, such as the ECS agent); then journald still dies with this shell (parent-death signal), but
# what COMMAND leaves running is COMMAND's business. Needs root, unshare(1), setpriv(1), systemd-journald.
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: $0 OUT COMMAND [ARG...]" >&2
    exit 64
fi

if [ "${PRIVATE_JOURNAL_INSIDE:-}" != 1 ]; then
    if [ "${PRIVATE_JOURNAL_HOST_PIDS:-}" = 1 ]; then
        PRIVATE_JOURNAL_INSIDE=1 exec unshare --mount --propagation private --fork --kill-child "$0" "$@"
    fi
    PRIVATE_JOURNAL_INSIDE=1 exec unshare --mount --propagation private --pid --fork --mount-proc \
        --kill-child "$0" "$@"
fi
unset PRIVATE_JOURNAL_INSIDE PRIVATE_JOURNAL_HOST_PIDS

out=$1
shift

journald=
for candidate in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
    if [ -x "$candidate" ]; then journald=$candidate; break; fi
done
if [ -z "$journald" ]; then
    echo "private-journal: systemd-journald not found" >&2
    exit 69
fi

# Mount points: on a systemd host these exist already; elsewhere an empty directory is all that is left.
mkdir -p /run/systemd /run/log
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run/systemd
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run/log
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal
# journald of systemd 252 always reads the kernel log; give it nothing to read.
mount --bind /dev/null /dev/kmsg
cat > /run/systemd/journald.conf.d/private-journal.conf <<'CONF'
[Journal]
Storage=volatile
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
RateLimitBurst=0
CONF

setpriv --pdeathsig KILL "$journald" </dev/null >/run/systemd/journald.out 2>&1 &
journald_pid=$!

tries=0
until [ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ] \
    && [ -S /run/systemd/journal/io.systemd.journal ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 500 ] || ! kill -0 "$journald_pid" 2>/dev/null; then
        echo "private-journal: systemd-journald did not start" >&2
        cat /run/systemd/journald.out >&2 || true
        exit 69
    fi
    sleep 0.01
done

status=0
"$@" || status=$?

journalctl --sync
journalctl --directory=/run/log/journal --output=json --no-pager >"$out"
kill "$journald_pid" 2>/dev/null || true
wait "$journald_pid" 2>/dev/null || true
exit "$status"

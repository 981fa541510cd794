#!/bin/sh
# Boot of one lab host. automator.lab starts it as PID 1 of new PID, UTS, IPC and mount
# namespaces inside the host's network namespace:
#
#   labhost_boot.sh NAME SSHD_CONFIG SSHD_LOG [SOURCE TARGET]...
#
# It sets the hostname, bind-mounts every SOURCE over its TARGET, starts sshd and hands PID 1
# over to tini.
set -eu

# Anywhere but in its own namespaces, `hostname` and the bind mounts would rename and re-mount
# the real machine.
if [ "$$" != 1 ]; then
    echo "labhost_boot.sh: not PID 1 of a new PID namespace, refusing to run" >&2
    exit 1
fi

hostname "$1"
sshd_config=$2
sshd_log=$3
shift 3
while [ "$#" -ge 2 ]; do
    mount --bind "$1" "$2"
    shift 2
done

/usr/sbin/sshd -f "$sshd_config" -E "$sshd_log"
# tini reaps the orphans of the host's daemons; `sleep` keeps the host alive while its sshd is
# stopped (Lab.stop_host).
exec tini -- sleep infinity

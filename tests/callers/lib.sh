# Sourced by the caller scripts of tests/callers/. tests/callers_netns.rs runs each script
# twice, in twin sandboxes (mount, network and PID namespaces of their own, a private
# /etc/wireguard, /run/wireguard and /run/wgq): once with wgq installed as `wg` and
# `wg-quick` and once with wireguard-tools. PATH holds only a directory with those two
# names and a directory of links to the other tools, so whatever a caller runs by name
# (and, on wgq's side, /usr/bin/wg and /usr/bin/wg-quick too) is the tool under test.
#
#   bash tests/callers/NAME.sh PHASE     PHASE: up, live (after the phone connected), down
#
# Environment (nothing secret): IF (the server's interface), PORT (its listen port),
# UPLINK (the link towards the phone), SERVER (this side's address on it), PHONE_PORT, W
# (the work directory). A script that wants a phone writes clients/phone.conf (and the
# address to ping in clients/phone.ping); the harness brings the phone up with
# wireguard-tools in its own namespace between the `up` and `live` phases.
#
# Stdout is the transcript the harness compares: exit statuses and the values the caller
# parses, in the form the caller reads them (a handshake time as never/recent, a byte
# counter as 0/some). Lines that start with `| ` (see `rows`) come in the device's own
# order (wireguard-go lists peers in Go map order): the harness sorts each run of them
# after it has put key names in place of the keys. Every key the
# script makes is kept in keys/NAME.key (private), NAME.pub and NAME.psk; the harness
# checks each public key against wireguard-tools and shows keys by those names only.
# wg-quick's trace goes to wg-quick.log: it differs in wording by design (docs/
# compatibility.md) and no caller reads it. Everything else on stderr is compared.
set -u
cd "$W" || exit 1
umask 077
mkdir -p keys clients
CONF=/etc/wireguard/$IF.conf
QLOG=$W/wg-quick.log

say() { printf '%s\n' "$*"; }

# How a caller reads a handshake column: never (0), or recent (the last 10 minutes).
when() {
	if [ "$1" = 0 ]; then
		echo never
	elif [ $(($(date +%s) - $1)) -le 600 ] && [ $(($(date +%s) - $1)) -ge -5 ]; then
		echo recent
	else
		echo "odd($1)"
	fi
}

# A byte counter: 0 or some (how much depends on timing).
amount() { if [ "$1" = 0 ]; then echo 0; else echo some; fi; }

# What a caller checks of a key it just made: 44 characters of base64 ending in `='.
shape() { if [[ ${#1} = 44 && $1 =~ ^[A-Za-z0-9+/]{43}=$ ]]; then echo key; else echo "not-a-key(${#1})"; fi; }

# Lines as rows whose order does not count.
rows() { sed 's/^/| /'; }

# A comma-separated list sorted (allowed IPs come in the device's own order).
sorted_list() { tr "${2:-,}" '\n' <<<"$1" | sort | paste -sd "${2:-,}"; }

# Pretty `wg` output as a caller's eye sees it: one row per block (numbered by device, in
# the order printed), the time and byte counts masked.
pretty() {
	awk -v RS= '/^interface: /{n++} {gsub(/\n/, " / "); print "device " n ": " $0}' |
		sed -E 's/latest handshake: [^/]*/latest handshake: T /; s/transfer: [^/]*/transfer: X /' | rows
}

# The status a script prints after a command: `LABEL: rc=N`.
rc() { say "$1: rc=$2"; }

# Waits (at most 5 s) until the userspace device IF is gone: wireguard-go leaves its
# control socket behind for a moment after its link is deleted, and a listing of all
# devices in that moment would still show it, on one side of the twin runs and not the other.
gone() {
	local i
	for i in $(seq 50); do
		[ -e "/var/run/wireguard/$1.sock" ] || return 0
		sleep 0.1
	done
}


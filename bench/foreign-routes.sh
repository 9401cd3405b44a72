#!/usr/bin/env bash
# Benchmark: `wgq up` + `down` of a small full-tunnel config on a host that carries many
# routes of its own in another table (a router with a BGP feed), against the same on an
# empty host. wgq asks the kernel only for what it needs (filtered dumps), so the foreign
# routes should cost little.
#
#   bench/foreign-routes.sh [ROUTES]        (default 500000)
#   WGQ=path/to/wgq REPEAT=5 bench/foreign-routes.sh 100000
set -euo pipefail
cd "$(dirname "$0")/.."
WGQ=${WGQ:-target/release/wgq}
routes=${1:-500000}
repeat=${REPEAT:-5}
[ "$(id -u)" = 0 ] || { echo "skipped: the benchmark needs root (network namespaces)"; exit 0; }
for t in wireguard-go bc; do command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 0; }; done
[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }
work=$(mktemp -d /tmp/wgq-fbench.XXXXXX)
ns=wgqfbench$$
# The interface name carries the pid too (one /var/run/wireguard for every namespace).
ifn=wf$(printf '%06x' $$)
del_ns() { { ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null; } || true; ip netns del $ns 2>/dev/null || true; }
trap 'del_ns; rm -rf "$work"' EXIT
N="ip netns exec $ns"
cat >"$work/$ifn.conf" <<CONF
[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.8.0.2/32, fd00:8::2/128
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 192.0.2.9:51820
CONF
chmod 600 "$work/$ifn.conf"
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

setup() { # ROUTES
	del_ns
	ip netns add $ns
	$N ip link set lo up
	$N ip link add v0 type veth peer name v1
	$N ip addr add 192.0.2.1/24 dev v0
	$N ip link set v0 up
	$N ip link set v1 up
	$N ip route add default via 192.0.2.2
	if [ "$1" -gt 0 ]; then
		python3 -c "
import sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(n):
    w('route add 100.%d.%d.%d/32 dev v0 table 100\n' % (64 + (i >> 16) % 64, (i >> 8) & 255, i & 255))
" "$1" | $N ip -batch -
	fi
}

run() { # -> "up_s down_s"
	local t0 t1 t2
	t0=$(now)
	$N env WGQ_STATS=1 "$WGQ" up "$work/$ifn.conf" >/dev/null 2>"$work/stats"
	t1=$(now)
	$N "$WGQ" down "$work/$ifn.conf" >/dev/null 2>&1
	t2=$(now)
	echo "$(echo "$t1 - $t0" | bc -l) $(echo "$t2 - $t1" | bc -l) $(sed -n 's/^wgq: peak RSS \([0-9]*\) KiB$/\1/p' "$work/stats" | tail -1)"
}

echo "machine: $(nproc) CPU, $(uname -r), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
printf '%-22s %9s %9s %10s\n' host up_s down_s peak_rss
for n in 0 "$routes"; do
	setup "$n"
	[ "$n" = 0 ] || echo "($($N ip route show table 100 | wc -l) routes in table 100)"
	us=() ds=() rss=0
	for ((r = 0; r < repeat; r++)); do
		read -r u d k < <(run)
		us+=("$u") ds+=("$d")
		[ "${k:-0}" -le "$rss" ] || rss=$k
	done
	printf '%-22s %9.3f %9.3f %10s\n' "$n foreign routes" "$(median "${us[@]}")" "$(median "${ds[@]}")" "$rss KiB"
done

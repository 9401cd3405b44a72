#!/usr/bin/env bash
# Benchmark of `wgq p2p`: the time from starting `wgq p2p connect` on two peers behind
# NAT to a direct path (both have the other's public IP:port, a handshake and the other's
# tunnel address on the direct peer), and the extra traffic of an idle mesh peer per
# minute. Network namespaces as in tests/p2p_netns.rs: an "internet", a hub on
# 203.0.113.1, two NAT routers (nftables masquerade, inbound only for established
# connections) with one peer behind each; wireguard-go devices.
#
#   bench/p2p.sh                      (REPEAT=5 connects, DURATION=60 idle seconds)
#   WGQ=target/debug/wgq REPEAT=3 DURATION=30 bench/p2p.sh
#
# Printed: the median and the worst time to direct, then for an idle peer over DURATION
# seconds (scaled to a minute): the bytes of its direct peer (keepalives both ways,
# handshakes), the bytes its queries to the hub add (the hub peer's counters with
# `connect` running minus the same window without it), and their sum. Bytes are
# WireGuard's counters: UDP payload, without the IP and UDP headers (28 bytes a packet
# over IPv4).
set -euo pipefail
cd "$(dirname "$0")/.."
WGQ=${WGQ:-target/release/wgq}
REPEAT=${REPEAT:-5}
DURATION=${DURATION:-60}
[ "$(id -u)" = 0 ] || { echo "skipped: the benchmark needs root (network namespaces)"; exit 0; }
for t in wireguard-go nft python3; do command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 0; }; done
[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }
WGQ=$(realpath "$WGQ")
work=$(mktemp -d /tmp/wgq-p2pbench.XXXXXX)
p=wgqp2pb$$
NS=(i h ra rb a b)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for n in "${NS[@]}"; do
		{ ip netns pids $p$n 2>/dev/null | xargs -r kill 2>/dev/null; } || true
		ip netns del $p$n 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
x() { ip netns exec "$p$1" "${@:2}"; }

for n in "${NS[@]}"; do ip netns add $p$n; x $n ip link set lo up; done
ip -n ${p}i link add ih type veth peer name eth0 netns ${p}h
ip -n ${p}i link add ia type veth peer name wan netns ${p}ra
ip -n ${p}i link add ib type veth peer name wan netns ${p}rb
ip -n ${p}ra link add lan type veth peer name eth0 netns ${p}a
ip -n ${p}rb link add lan type veth peer name eth0 netns ${p}b
ip -n ${p}i addr add 203.0.113.254/24 dev ih
ip -n ${p}i addr add 198.51.100.14/28 dev ia
ip -n ${p}i addr add 198.51.100.30/28 dev ib
ip -n ${p}h addr add 203.0.113.1/24 dev eth0
ip -n ${p}ra addr add 198.51.100.1/28 dev wan
ip -n ${p}rb addr add 198.51.100.17/28 dev wan
ip -n ${p}ra addr add 192.168.1.1/24 dev lan
ip -n ${p}rb addr add 192.168.2.1/24 dev lan
ip -n ${p}a addr add 192.168.1.2/24 dev eth0
ip -n ${p}b addr add 192.168.2.2/24 dev eth0
for l in ih ia ib; do ip -n ${p}i link set $l up; done
for n in h a b; do ip -n $p$n link set eth0 up; done
for n in ra rb; do ip -n $p$n link set wan up; ip -n $p$n link set lan up; done
ip -n ${p}h route add default via 203.0.113.254
ip -n ${p}ra route add default via 198.51.100.14
ip -n ${p}rb route add default via 198.51.100.30
ip -n ${p}a route add default via 192.168.1.1
ip -n ${p}b route add default via 192.168.2.1
for n in i h ra rb; do x $n sysctl -qw net.ipv4.ip_forward=1; done
for n in ra rb; do
	x $n nft -f - <<'NFT'
table inet bench {
 chain outbound { type nat hook postrouting priority 100; oifname "wan" masquerade; }
 chain inbound { type filter hook forward priority 0; policy accept; iifname "wan" ct state established,related accept; iifname "wan" drop; }
 chain local { type filter hook input priority 0; policy accept; iifname "wan" ct state established,related accept; iifname "wan" drop; }
}
NFT
done

key() { "$WGQ" genkey; }
pub() { echo "$1" | "$WGQ" pubkey; }
kh=$(key) ka=$(key) kb=$(key)
ph=$(pub "$kh") pa=$(pub "$ka") pb=$(pub "$kb")
ifh=pb$$h ifa=pb$$a ifb=pb$$b
umask 077
cat >"$work/$ifh.conf" <<EOF
[Interface]
PrivateKey = $kh
Address = 10.77.0.1/24
ListenPort = 51820

[Peer]
# P2P = true
PublicKey = $pa
AllowedIPs = 10.77.0.2/32

[Peer]
# P2P = true
PublicKey = $pb
AllowedIPs = 10.77.0.3/32
EOF
for s in a b; do
	k=ka; [ $s = b ] && k=kb
	n=2; [ $s = b ] && n=3
	ifn=pb$$$s
	cat >"$work/$ifn.conf" <<EOF
[Interface]
PrivateKey = ${!k}
Address = 10.77.0.$n/24
ListenPort = 51820

[Peer]
PublicKey = $ph
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.77.0.0/24
PersistentKeepalive = 25
EOF
done
x h "$WGQ" up "$work/$ifh.conf" 2>/dev/null
x a "$WGQ" up "$work/$ifa.conf" 2>/dev/null
x b "$WGQ" up "$work/$ifb.conf" 2>/dev/null
# Started without the function x, so that $! is wgq's own pid (ip netns exec execs it).
ip netns exec ${p}h "$WGQ" p2p serve "$work/$ifh.conf" 2>>"$work/serve.log" &
pids+=($!)
# Both peers handshake with the hub first.
x a ping -c1 -W5 10.77.0.1 >/dev/null
x b ping -c1 -W5 10.77.0.1 >/dev/null

# field NS IF KEY N: field N of KEY's line in `wg show IF dump` (3 endpoint, 4 allowed IPs,
# 5 handshake, 6 rx, 7 tx).
field() { x "$1" "$WGQ" wg show "$2" dump | awk -v k="$3" -v n="$4" 'NR > 1 && $1 == k {print $n}'; }
direct() { # NS IF KEY TUNNEL: a handshake and the tunnel address on the direct peer
	local hs allowed
	hs=$(field "$1" "$2" "$3" 5)
	allowed=$(field "$1" "$2" "$3" 4)
	[ -n "$hs" ] && [ "$hs" != 0 ] && [[ ",$allowed," == *",$4,"* ]]
}
now() { date +%s.%N; }

times=()
for r in $(seq "$REPEAT"); do
	t0=$(now)
	ip netns exec ${p}a "$WGQ" p2p connect "$ifa" 2>>"$work/a.log" &
	ca=$!
	ip netns exec ${p}b "$WGQ" p2p connect "$ifb" 2>>"$work/b.log" &
	cb=$!
	pids+=($ca $cb)
	until direct a "$ifa" "$pb" 10.77.0.3/32 && direct b "$ifb" "$pa" 10.77.0.2/32; do
		sleep 0.02
		if (( $(echo "$(now) - $t0 > 30" | bc) )); then echo "bench: no direct path within 30 s" >&2; cat "$work"/*.log >&2; exit 1; fi
	done
	times+=("$(echo "$(now) - $t0" | bc)")
	if [ "$r" -lt "$REPEAT" ]; then
		# Stopped: the added peers are removed; the next round starts from nothing.
		kill "$ca" "$cb"
		wait "$ca" "$cb" 2>/dev/null || true
		# Fresh NAT state for the next round: removing a router's address drops the
		# conntrack entries masqueraded to it (the direct flow's included).
		x ra ip addr del 198.51.100.1/28 dev wan; x ra ip addr add 198.51.100.1/28 dev wan
		x ra ip route replace default via 198.51.100.14
		x rb ip addr del 198.51.100.17/28 dev wan; x rb ip addr add 198.51.100.17/28 dev wan
		x rb ip route replace default via 198.51.100.30
		x a ping -c1 -W5 10.77.0.1 >/dev/null || true
		x b ping -c1 -W5 10.77.0.1 >/dev/null || true
		sleep 1
	fi
done
sorted=$(printf '%s\n' "${times[@]}" | sort -g)
median=$(echo "$sorted" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
worst=$(echo "$sorted" | tail -1)
printf 'time from p2p connect to a direct path: median %.2f s, worst %.2f s (%d runs: %s)\n' "$median" "$worst" "$REPEAT" "$(printf '%.2f ' "${times[@]}")"

# Idle traffic: A's direct peer and hub peer over DURATION seconds, then the hub peer over
# the same window with connect stopped.
bytes() { echo $(( $(field a "$ifa" "$1" 6) + $(field a "$ifa" "$1" 7) )); }
sleep 2
d0=$(bytes "$pb") h0=$(bytes "$ph")
sleep "$DURATION"
d1=$(bytes "$pb") h1=$(bytes "$ph")
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
b0=$(bytes "$ph")
sleep "$DURATION"
b1=$(bytes "$ph")
[ -n "${DEBUG:-}" ] && echo "direct $d0 $d1 hub $h0 $h1 without $b0 $b1" >&2
per_min() { echo "($1) * 60 / $DURATION" | bc; }
direct_b=$(per_min "$d1 - $d0")
poll_b=$(per_min "($h1 - $h0) - ($b1 - $b0)")
printf 'idle peer, bytes per minute: direct peer %d, queries to the hub %d, total %d\n' "$direct_b" "$poll_b" $((direct_b + poll_b))

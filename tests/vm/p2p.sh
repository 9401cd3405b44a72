#!/usr/bin/env bash
# wgq p2p on the kernel module (genl): a hub on 203.0.113.1 and two peers, each behind a NAT
# router (nftables masquerade; inbound only for established connections, to the LAN and to
# the router itself) whose files name only the hub. After `p2p serve` on the hub and
# `p2p connect` on both, within 30 s (software emulation, with a debug wgq: each `wg show`
# here takes long; tests/p2p_netns.rs holds the 10 s bound on the host) each has the
# other's public IP:port as endpoint, a
# handshake and the other's tunnel address on the direct peer (update-only changes over
# genl), pings between them pass and the hub's counters for them grow by less than the
# pings' bytes; stopping connect removes the added peers.
. "$(dirname "$0")/lib.sh"
for n in i h ra rb a b; do ip netns add $n; ip -n $n link set lo up; done
ip -n i link add ih type veth peer name eth0 netns h
ip -n i link add ia type veth peer name wan netns ra
ip -n i link add ib type veth peer name wan netns rb
ip -n ra link add lan type veth peer name eth0 netns a
ip -n rb link add lan type veth peer name eth0 netns b
ip -n i addr add 203.0.113.254/24 dev ih
ip -n i addr add 198.51.100.14/28 dev ia
ip -n i addr add 198.51.100.30/28 dev ib
ip -n h addr add 203.0.113.1/24 dev eth0
ip -n ra addr add 198.51.100.1/28 dev wan
ip -n rb addr add 198.51.100.17/28 dev wan
ip -n ra addr add 192.168.1.1/24 dev lan
ip -n rb addr add 192.168.2.1/24 dev lan
ip -n a addr add 192.168.1.2/24 dev eth0
ip -n b addr add 192.168.2.2/24 dev eth0
for l in ih ia ib; do ip -n i link set $l up; done
for n in h a b; do ip -n $n link set eth0 up; done
for n in ra rb; do ip -n $n link set wan up; ip -n $n link set lan up; done
ip -n h route add default via 203.0.113.254
ip -n ra route add default via 198.51.100.14
ip -n rb route add default via 198.51.100.30
ip -n a route add default via 192.168.1.1
ip -n b route add default via 192.168.2.1
for n in i h ra rb; do ip netns exec $n sysctl -qw net.ipv4.ip_forward=1; done
for n in ra rb; do
	ip netns exec $n nft -f - <<'NFT'
table inet vmtest {
 chain outbound { type nat hook postrouting priority 100; oifname "wan" masquerade; }
 chain inbound { type filter hook forward priority 0; policy accept; iifname "wan" ct state established,related accept; iifname "wan" drop; }
 chain local { type filter hook input priority 0; policy accept; iifname "wan" ct state established,related accept; iifname "wan" drop; }
}
NFT
done
kh=$(genkey); ka=$(genkey); kb=$(genkey)
ph=$(pubkey "$kh"); pa=$(pubkey "$ka"); pb=$(pubkey "$kb")
cat >"$T/wgph.conf" <<CONF
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
CONF
for s in a b; do
	k=$ka; n=2; [ $s = b ] && { k=$kb; n=3; }
	cat >"$T/wgp$s.conf" <<CONF
[Interface]
PrivateKey = $k
Address = 10.77.0.$n/24
ListenPort = 51820
[Peer]
PublicKey = $ph
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.77.0.0/24
PersistentKeepalive = 25
CONF
done
chmod 600 "$T"/*.conf
for s in h a b; do ip netns exec $s "$WGQ" up "$T/wgp$s.conf" 2>"$T/up.$s" || { cat "$T/up.$s"; fail "up $s"; }; done
grep -q wireguard <<<"$(ip -n a -d link show wgpa)" || fail "wgpa is not a kernel wireguard link"
ip netns exec a ping -c 1 -W 3 10.77.0.3 >/dev/null || fail "a reaches b through the hub"
ip netns exec h "$WGQ" p2p serve "$T/wgph.conf" 2>"$T/serve.log" &
serve=$!
sleep 0.3
step "p2p connect on a and b"
ip netns exec a "$WGQ" p2p connect wgpa 2>"$T/a.log" &
ca=$!
ip netns exec b "$WGQ" p2p connect wgpb 2>"$T/b.log" &
cb=$!
field() { ip netns exec "$1" wg show "$2" dump | awk -v k="$3" -v n="$4" 'NR > 1 && $1 == k {print $n}'; }
direct() { # NS IF KEY PUBLIC TUNNEL
	local ep hs allowed
	ep=$(field "$1" "$2" "$3" 3); hs=$(field "$1" "$2" "$3" 5); allowed=$(field "$1" "$2" "$3" 4)
	[[ "$ep" == "$4"* ]] && [ -n "$hs" ] && [ "$hs" != 0 ] && [[ ",$allowed," == *",$5,"* ]]
}
s0=$(date +%s.%N)
until direct a wgpa "$pb" 198.51.100.17: 10.77.0.3/32 && direct b wgpb "$pa" 198.51.100.1: 10.77.0.2/32; do
	if (( $(echo "$(date +%s.%N) - $s0 > 30" | bc) )); then
		cat "$T"/*.log; ip netns exec a wg show; ip netns exec b wg show; ip netns exec h wg show
		fail "no direct path within 30 s"
	fi
	sleep 0.1
done
step "direct after $(echo "$(date +%s.%N) - $s0" | bc | cut -c1-5) s"
hub() { echo $(( $(field h wgph "$pa" 6) + $(field h wgph "$pa" 7) + $(field h wgph "$pb" 6) + $(field h wgph "$pb" 7) )); }
h0=$(hub)
ip netns exec a ping -q -c 20 -i 0.2 -s 1000 -W 1 10.77.0.3 >/dev/null || fail "direct pings"
grown=$(( $(hub) - h0 ))
[ "$grown" -lt 4000 ] || fail "the hub carried $grown bytes of 40,000 of pings"
ip netns exec a "$WGQ" p2p status wgpa | grep -q "path: direct since" || fail "status: $(ip netns exec a "$WGQ" p2p status wgpa)"
step "connect stops"
kill "$ca" "$cb"; wait "$ca" "$cb" || fail "connect did not exit cleanly"
[ "$(ip netns exec a wg show wgpa peers)" = "$ph" ] || fail "the added peer is still there: $(ip netns exec a wg show wgpa peers)"
ip netns exec a ping -c 1 -W 3 10.77.0.3 >/dev/null || fail "through the hub again"
kill "$serve"; wait "$serve" || true
echo "p2p: ok"

#!/usr/bin/env bash
# Issue 14 on the kernel path: a reload whose new ListenPort is taken gets EADDRINUSE after
# the kernel applied other parts of the same request batch (fwmark, peers); the rollback
# puts the device back exactly (wg showconf equal), and the rest of the system too.
. "$(dirname "$0")/lib.sh"
ip netns add rf
ip -n rf link set lo up
ip -n rf link add v0 type veth peer name v1
ip -n rf addr add 192.0.2.1/24 dev v0; ip -n rf link set v0 up; ip -n rf link set v1 up
k=$(genkey); p1=$(pubkey "$(genkey)"); p2=$(pubkey "$(genkey)"); p3=$(pubkey "$(genkey)")
cat >"$T/wgf0.conf" <<CONF
[Interface]
PrivateKey = $k
ListenPort = 51931
Address = 10.93.0.1/24
[Peer]
PublicKey = $p1
AllowedIPs = 10.93.1.0/24
PersistentKeepalive = 25
Endpoint = 192.0.2.7:51820
[Peer]
PublicKey = $p2
AllowedIPs = 10.93.2.0/24
CONF
chmod 600 "$T/wgf0.conf"
ip netns exec rf "$WGQ" up "$T/wgf0.conf" 2>"$T/up" || { cat "$T/up"; fail "up"; }
before_conf=$(ip netns exec rf wg showconf wgf0); before=$(state rf)
# Something else holds the new port (IPv4 and IPv6).
ip netns exec rf python3 -c "
import socket,time
s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', 51932))
open('$T/bound','w').close()
time.sleep(120)" &
holder=$!
for _ in $(seq 100); do [ -f "$T/bound" ] && break; sleep 0.1; done
[ -f "$T/bound" ] || fail "could not take port 51932"
sed -i 's/^ListenPort = 51931/ListenPort = 51932\nFwMark = 0x77/; s/^PersistentKeepalive = 25$//' "$T/wgf0.conf"
sed -i "s|^PublicKey = $p2|PublicKey = $p3|" "$T/wgf0.conf"
if ip netns exec rf "$WGQ" reload "$T/wgf0.conf" 2>"$T/reload"; then cat "$T/reload"; fail "reload onto a taken port succeeded"; fi
grep -q "Address already in use" "$T/reload" || { cat "$T/reload"; fail "the error is not EADDRINUSE"; }
kill $holder 2>/dev/null || true; wait $holder 2>/dev/null || true
[ "$(ip netns exec rf wg showconf wgf0)" = "$before_conf" ] || { diff <(echo "$before_conf") <(ip netns exec rf wg showconf wgf0); cat "$T/reload"; fail "the device differs after the failed reload"; }
[ "$(state rf)" = "$before" ] || { diff <(echo "$before") <(state rf); fail "the system differs after the failed reload"; }
ip netns exec rf "$WGQ" down "$T/wgf0.conf" 2>/dev/null || fail "down"
echo "reloadfail: ok"

#!/usr/bin/env bash
# Kernel WireGuard between two namespaces, brought up by wgq from config files:
# IPv4 and IPv6 pings cross, a handshake is recorded, showconf matches the files, down cleans.
. "$(dirname "$0")/lib.sh"
two_hosts
ka=$(genkey); kb=$(genkey); pa=$(pubkey "$ka"); pb=$(pubkey "$kb")
cat >"$T/wgk0.conf" <<CONF
[Interface]
PrivateKey = $ka
ListenPort = 51820
Address = 10.99.0.1/24, fd00:99::1/64
[Peer]
PublicKey = $pb
AllowedIPs = 10.99.0.2/32, fd00:99::2/128
Endpoint = 192.0.2.2:51820
CONF
cat >"$T/wgk1.conf" <<CONF
[Interface]
PrivateKey = $kb
ListenPort = 51820
Address = 10.99.0.2/24, fd00:99::2/64
[Peer]
PublicKey = $pa
AllowedIPs = 10.99.0.1/32, fd00:99::1/128
Endpoint = [2001:db8::1]:51820
CONF
chmod 600 "$T"/*.conf
before_a=$(state a)
ip netns exec a "$WGQ" up "$T/wgk0.conf" 2>"$T/up.a" || { cat "$T/up.a"; fail "up a"; }
one_socket_per_protocol b "$WGQ" up "$T/wgk1.conf" 2>"$T/up.b" || { cat "$T/up.b"; fail "up b"; }
grep -q NETLINK_GENERIC "$T/sockets" || fail "up b did not use generic netlink"
grep -q 'Falling back' "$T/up.a" && fail "used the userspace fallback, not the kernel module"
grep -q wireguard <<<"$(ip -n a -d link show wgk0)" || fail "wgk0 is not a kernel wireguard link"
ip netns exec a ping -c 2 -W 2 10.99.0.2 >/dev/null || fail "IPv4 ping through the tunnel"
ip netns exec a ping -6 -c 2 -W 2 fd00:99::2 >/dev/null || fail "IPv6 ping through the tunnel"
hs=$(ip netns exec a wg show wgk0 latest-handshakes | awk '{print $2}')
[ "${hs:-0}" -gt 0 ] || fail "no handshake recorded"
# showconf reflects the file (keys, port, peer, allowed IPs, endpoint).
ip netns exec a wg showconf wgk0 >"$T/show.a"
diff <("$WGQ" strip "$T/wgk0.conf" | grep -v -e '^$' -e '^\[' | sed 's/ //g' | sort) \
     <(grep -v -e '^$' -e '^\[' "$T/show.a" | sed 's/ //g' | sort | sed 's/^AllowedIPs=\(.*\)/AllowedIPs=\1/') \
	|| fail "showconf differs from the file"
grep -q "latest handshake" <<<"$(ip netns exec a "$WGQ" show wgk0)" || fail "wgq show lacks the handshake"
# reload over genl: a new peer, address and MTU, a keepalive; the link stays, the peer's
# session too, showconf follows the new file; reloading the old file restores the old state.
up_a=$(state a); cp "$T/wgk0.conf" "$T/wgk0.orig"
idx=$(ip -n a -o link show wgk0 | cut -d: -f1)
pc=$(pubkey "$(genkey)")
sed -i 's|^Address = .*|Address = 10.99.0.1/24, fd00:99::1/64, 10.98.0.1/24\nMTU = 1400|; s|^Endpoint = 192.0.2.2:51820|&\nPersistentKeepalive = 25|' "$T/wgk0.conf"
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.97.0.0/16, fd00:97::/64\n' "$pc" >>"$T/wgk0.conf"
one_socket_per_protocol a "$WGQ" reload "$T/wgk0.conf" 2>"$T/reload.a" || { cat "$T/reload.a"; fail "reload a"; }
[ "$(ip -n a -o link show wgk0 | cut -d: -f1)" = "$idx" ] || fail "reload recreated the link"
grep -q 'mtu 1400' <<<"$(ip -n a link show wgk0)" || fail "reload did not set MTU 1400"
ip -n a route show 10.97.0.0/16 | grep -q wgk0 || fail "no route for the new peer"
ip -n a -o addr show dev wgk0 | grep -q 10.98.0.1/24 || fail "new address missing"
hs2=$(ip netns exec a wg show wgk0 latest-handshakes | awk -v p="$pb" '$1 == p {print $2}')
[ "$hs2" = "$hs" ] || [ "${hs2:-0}" -ge "$hs" ] || fail "the peer's session was reset"
ip netns exec a wg showconf wgk0 >"$T/show.a"
diff <("$WGQ" strip "$T/wgk0.conf" | grep -v -e '^$' -e '^\[' | sed 's/ //g' | sort) \
     <(grep -v -e '^$' -e '^\[' "$T/show.a" | sed 's/ //g' | sort) || fail "showconf differs from the reloaded file"
ip netns exec a ping -c 1 -W 2 10.99.0.2 >/dev/null || fail "ping after reload"
cp "$T/wgk0.orig" "$T/wgk0.conf"
ip netns exec a "$WGQ" reload "$T/wgk0.conf" 2>"$T/reload.a" || { cat "$T/reload.a"; fail "reload back"; }
[ "$(state a)" = "$up_a" ] || { diff <(echo "$up_a") <(state a); fail "reloading the old file did not restore its state"; }
ip netns exec a "$WGQ" down "$T/wgk0.conf" 2>/dev/null || fail "down a"
ip netns exec b "$WGQ" down "$T/wgk1.conf" 2>/dev/null || fail "down b"
[ "$(state a)" = "$before_a" ] || fail "down left state behind in a"
echo "tunnel: ok"

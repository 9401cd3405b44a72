#!/usr/bin/env bash
# One side becomes a full-tunnel client: traffic to an address behind the server goes
# through the tunnel while the encrypted packets leave through the uplink; rules and the
# nftables table are in place; down removes everything.
. "$(dirname "$0")/lib.sh"
two_hosts
# An address "behind" the server, reachable only through the tunnel.
ip -n b addr add 198.51.100.1/32 dev lo
ka=$(genkey); kb=$(genkey); pa=$(pubkey "$ka"); pb=$(pubkey "$kb")
cat >"$T/wgc0.conf" <<CONF
[Interface]
PrivateKey = $ka
Address = 10.98.0.2/32, fd00:98::2/128
[Peer]
PublicKey = $pb
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 192.0.2.2:51820
CONF
cat >"$T/wgs0.conf" <<CONF
[Interface]
PrivateKey = $kb
ListenPort = 51820
Address = 10.98.0.1/24, fd00:98::1/64
[Peer]
PublicKey = $pa
AllowedIPs = 10.98.0.2/32, fd00:98::2/128
CONF
chmod 600 "$T"/*.conf
before=$(state a)
step "ip netns exec b 'WGQ' up 'T/wgs0.conf' 2>/dev/null"
ip netns exec b "$WGQ" up "$T/wgs0.conf" 2>/dev/null || fail "server up"
step "ip netns exec a 'WGQ' up 'T/wgc0.conf' 2>'T/up'"
ip netns exec a "$WGQ" up "$T/wgc0.conf" 2>"$T/up" || { cat "$T/up"; fail "client up"; }
step "ip -n a rule | grep -q 'not from all fwmark 0xca6c lookup 51"
grep -q 'not from all fwmark 0xca6c lookup 51820' <<<"$(ip -n a rule)" || fail "v4 fwmark rule missing"
step "ip -n a rule | grep -q 'from all lookup main suppress_prefix"
grep -q 'from all lookup main suppress_prefixlength 0' <<<"$(ip -n a rule)" || fail "v4 suppress rule missing"
step "ip -n a -6 rule | grep -q 'not from all fwmark 0xca6c lookup"
grep -q 'not from all fwmark 0xca6c lookup 51820' <<<"$(ip -n a -6 rule)" || fail "v6 fwmark rule missing"
step "ip netns exec a nft list tables | grep -q 'table ip wg-quick"
grep -q 'table ip wg-quick-wgc0' <<<"$(ip netns exec a nft list tables)" || fail "nft table missing"
step "ip -n a route get 198.51.100.1 | grep -q 'dev wgc0'"
grep -q 'dev wgc0' <<<"$(ip -n a route get 198.51.100.1)" || fail "traffic would not use the tunnel"
step "tx0=(cat /sys/class/net/va/statistics/tx_packets 2>/dev/null"
tx0=$(cat /sys/class/net/va/statistics/tx_packets 2>/dev/null || ip netns exec a cat /sys/class/net/va/statistics/tx_packets)
step "ip netns exec a ping -c 3 -W 2 198.51.100.1 >/dev/null"
ip netns exec a ping -c 3 -W 2 198.51.100.1 >/dev/null || fail "ping through the full tunnel"
step "rx=(ip netns exec a wg show wgc0 transfer | awk '{print 2}')"
rx=$(ip netns exec a wg show wgc0 transfer | awk '{print $2}')
[ "${rx:-0}" -gt 0 ] || fail "nothing received through the tunnel"
step "tx1=(ip netns exec a cat /sys/class/net/va/statistics/tx_pac"
tx1=$(ip netns exec a cat /sys/class/net/va/statistics/tx_packets)
[ "$tx1" -gt "$tx0" ] || fail "encrypted packets did not leave through the uplink"
step "ip netns exec a 'WGQ' down 'T/wgc0.conf' 2>/dev/null"
ip netns exec a "$WGQ" down "$T/wgc0.conf" 2>/dev/null || fail "client down"
[ "$(state a)" = "$before" ] || { diff <(echo "$before") <(state a); fail "down left state behind"; }
step "ip netns exec b 'WGQ' down 'T/wgs0.conf' 2>/dev/null"
ip netns exec b "$WGQ" down "$T/wgs0.conf" 2>/dev/null || fail "server down"
echo "fulltunnel: ok"

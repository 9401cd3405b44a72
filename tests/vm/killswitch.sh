#!/usr/bin/env bash
# The kill switch on the kernel module (the fwmark is set over genl before the link goes
# up): a strict full-tunnel client reaches an address behind the server only through the
# tunnel; a more specific route in the main table that would lead around it (a leak
# without the switch) is rejected, and nothing of it reaches the server unencrypted; the
# table outlives `down`; `down --kill-switch=off` removes it (and then the leak is real,
# which shows the switch was what stopped it); a kernel link deleted under a normal switch:
# `down` says what it found and removes its rules, firewall rules and switch; the file is
# unchanged.
. "$(dirname "$0")/lib.sh"
two_hosts
ip -n b addr add 198.51.100.1/32 dev lo
ka=$(genkey); kb=$(genkey); pa=$(pubkey "$ka"); pb=$(pubkey "$kb")
cat >"$T/wgk0.conf" <<CONF
[Interface]
PrivateKey = $ka
Address = 10.97.0.2/32
[Peer]
PublicKey = $pb
AllowedIPs = 0.0.0.0/0
Endpoint = 192.0.2.2:51820
CONF
cat >"$T/wgk1.conf" <<CONF
[Interface]
PrivateKey = $kb
ListenPort = 51820
Address = 10.97.0.1/24
[Peer]
PublicKey = $pa
AllowedIPs = 10.97.0.2/32
CONF
chmod 600 "$T"/*.conf
sum=$(sha256sum "$T/wgk0.conf")
# The server counts ICMP from the client's uplink address: what would be a leak.
ip netns exec b nft -f - <<'NFT'
table inet leakcount {
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr 192.0.2.1 icmp type echo-request counter
	}
}
NFT
leaks() { ip netns exec b nft list table inet leakcount | awk '/counter packets/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1)}'; }
step "server up, client up --kill-switch=strict"
ip netns exec b "$WGQ" up "$T/wgk1.conf" 2>/dev/null || fail "server up"
ip netns exec a "$WGQ" up --kill-switch=strict "$T/wgk0.conf" 2>"$T/up" || { cat "$T/up"; fail "client up"; }
grep -q 'table inet wgq-killswitch-wgk0' <<<"$(ip netns exec a nft list tables)" || fail "no kill switch table"
step "ping through the tunnel"
ip netns exec a ping -c 2 -W 3 198.51.100.1 >/dev/null || fail "ping through the tunnel"
[ "$(leaks)" = 0 ] || fail "the ping went around the tunnel"
step "a route around the tunnel is rejected"
ip -n a route add 198.51.100.1/32 via 192.0.2.2 dev va
! ip netns exec a ping -c 2 -W 1 198.51.100.1 >/dev/null 2>&1 || fail "a ping got out around the tunnel"
[ "$(leaks)" = 0 ] || fail "$(leaks) packets leaked to the server unencrypted"
step "down keeps the strict table"
ip netns exec a "$WGQ" down "$T/wgk0.conf" 2>/dev/null || fail "client down"
grep -q 'table inet wgq-killswitch-wgk0' <<<"$(ip netns exec a nft list tables)" || fail "the strict table went with down"
! ip netns exec a ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1 || fail "a ping got out with the tunnel down"
[ "$(leaks)" = 0 ] || fail "$(leaks) packets leaked with the tunnel down"
step "down --kill-switch=off removes it"
ip netns exec a "$WGQ" down --kill-switch=off "$T/wgk0.conf" 2>/dev/null || fail "down --kill-switch=off"
! grep -q wgq-killswitch <<<"$(ip netns exec a nft list tables)" || fail "the table is still there"
ip netns exec a ping -c 1 -W 3 198.51.100.1 >/dev/null || fail "without the switch the route around the tunnel should work"
[ "$(leaks)" -gt 0 ] || fail "the leak counter does not count"
step "a kernel link deleted under the switch: down removes what up recorded"
ip netns exec a "$WGQ" up --kill-switch "$T/wgk0.conf" 2>"$T/up" || { cat "$T/up"; fail "client up again"; }
ip -n a link del wgk0
! ip netns exec a ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1 || fail "a ping got out with the link deleted"
ip netns exec a "$WGQ" down "$T/wgk0.conf" 2>"$T/down" || { cat "$T/down"; fail "down of the deleted link"; }
grep -q '^wgq: wgk0 is gone; removing what up recorded: 2 policy rule(s) of table 51820, its firewall rules, its kill switch (nft)$' "$T/down" \
    || { cat "$T/down"; fail "down did not say what it found"; }
! grep -q wgq-killswitch <<<"$(ip netns exec a nft list tables)" || fail "the kill switch of the deleted link stays"
! grep -q wg-quick- <<<"$(ip netns exec a nft list tables)" || fail "the firewall rules of the deleted link stay"
! ip -n a rule | grep -q fwmark || fail "the rules of the deleted link stay: $(ip -n a rule)"
ip netns exec a ping -c 1 -W 3 198.51.100.1 >/dev/null || fail "no traffic after down of the deleted link"
[ "$(sha256sum "$T/wgk0.conf")" = "$sum" ] || fail "the config file changed"
ip netns exec b "$WGQ" down "$T/wgk1.conf" 2>/dev/null || fail "server down"
echo "killswitch: ok"

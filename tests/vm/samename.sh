#!/usr/bin/env bash
# Issue 13: two namespaces each with a kernel interface named wg0 (a full-tunnel client in
# a, its server in b). Their run state is kept apart: up, reload and down in one never
# touch the other, and each down removes exactly its own record.
. "$(dirname "$0")/lib.sh"
two_hosts
mkdir -p "$T/a" "$T/b"
ka=$(genkey); kb=$(genkey); pa=$(pubkey "$ka"); pb=$(pubkey "$kb")
cat >"$T/a/wg0.conf" <<CONF
[Interface]
PrivateKey = $ka
Address = 10.96.0.2/32
[Peer]
PublicKey = $pb
AllowedIPs = 0.0.0.0/0
Endpoint = 192.0.2.2:51820
CONF
cat >"$T/b/wg0.conf" <<CONF
[Interface]
PrivateKey = $kb
ListenPort = 51820
Address = 10.96.0.1/24
[Peer]
PublicKey = $pa
AllowedIPs = 10.96.0.2/32
CONF
chmod 600 "$T"/*/wg0.conf
ip -n b addr add 198.51.100.1/32 dev lo
view() { state "$1"; ip netns exec "$1" wg showconf wg0 2>&1; }
records() { ls /run/wgq/ns-*/wg0.state 2>/dev/null | wc -l; }
before_a=$(state a); before_b=$(state b)
ip netns exec b "$WGQ" up "$T/b/wg0.conf" 2>"$T/up.b" || { cat "$T/up.b"; fail "up b"; }
ip netns exec a "$WGQ" up "$T/a/wg0.conf" 2>"$T/up.a" || { cat "$T/up.a"; fail "up a"; }
[ "$(records)" = 2 ] || { ls -R /run/wgq; fail "expected two records of wg0, one per namespace"; }
ip netns exec a ping -c 1 -W 3 198.51.100.1 >/dev/null || fail "ping through a's full tunnel"
b_up=$(view b)
# reload in a (a new address and peer) leaves b alone.
pc=$(pubkey "$(genkey)")
sed -i 's|^Address = .*|Address = 10.96.0.2/32, 10.95.0.2/32|' "$T/a/wg0.conf"
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.94.0.0/24\n' "$pc" >>"$T/a/wg0.conf"
ip netns exec a "$WGQ" reload "$T/a/wg0.conf" 2>"$T/reload.a" || { cat "$T/reload.a"; fail "reload a"; }
ip -n a route show 10.94.0.0/24 | grep -q wg0 || fail "reload a: no route for the new peer"
[ "$(view b)" = "$b_up" ] || { diff <(echo "$b_up") <(view b); fail "reload in a changed b"; }
# down in a: a is back to its start, b untouched, b's record still there.
ip netns exec a "$WGQ" down "$T/a/wg0.conf" 2>"$T/down.a" || { cat "$T/down.a"; fail "down a"; }
[ "$(state a)" = "$before_a" ] || { diff <(echo "$before_a") <(state a); fail "down a left state behind"; }
[ "$(view b)" = "$b_up" ] || { diff <(echo "$b_up") <(view b); fail "down in a changed b"; }
[ "$(records)" = 1 ] || fail "down a did not remove exactly its own record"
# reload in b works from b's own record, then down in b; a (up again) is untouched.
ip netns exec a "$WGQ" up "$T/a/wg0.conf" 2>"$T/up.a" || { cat "$T/up.a"; fail "up a again"; }
a_up=$(view a)
ip netns exec b "$WGQ" reload "$T/b/wg0.conf" 2>"$T/reload.b" || { cat "$T/reload.b"; fail "reload b"; }
ip netns exec b "$WGQ" down "$T/b/wg0.conf" 2>"$T/down.b" || { cat "$T/down.b"; fail "down b"; }
[ "$(state b)" = "$before_b" ] || { diff <(echo "$before_b") <(state b); fail "down b left state behind"; }
[ "$(view a)" = "$a_up" ] || { diff <(echo "$a_up") <(view a); fail "down in b changed a"; }
ip netns exec a "$WGQ" down "$T/a/wg0.conf" 2>/dev/null || fail "down a again"
[ "$(records)" = 0 ] || fail "records left after both downs"
echo "samename: ok"

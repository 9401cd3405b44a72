#!/usr/bin/env bash
# A failing PostUp on the kernel path (full tunnel with DNS off) rolls back completely.
. "$(dirname "$0")/lib.sh"
ip netns add rb
ip -n rb link set lo up
ip -n rb link add v0 type veth peer name v1
ip -n rb addr add 192.0.2.1/24 dev v0; ip -n rb link set v0 up; ip -n rb link set v1 up
ip -n rb route add default via 192.0.2.2
k=$(genkey); p=$(pubkey "$(genkey)")
cat >"$T/wgr0.conf" <<CONF
[Interface]
PrivateKey = $k
Address = 10.97.0.2/32, fd00:97::2/128
PostUp = echo about to fail
PostUp = exit 7
[Peer]
PublicKey = $p
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 192.0.2.2:51820
CONF
chmod 600 "$T/wgr0.conf"
before=$(state rb)
set +e
ip netns exec rb "$WGQ" up "$T/wgr0.conf" 2>"$T/up"
rc=$?
set -e
[ "$rc" = 7 ] || { cat "$T/up"; fail "expected status 7, got $rc"; }
grep -q 'nft -f' "$T/up" || fail "the full-tunnel steps did not run before the hook"
[ "$(state rb)" = "$before" ] || { diff <(echo "$before") <(state rb); fail "rollback left state behind"; }
echo "rollback: ok"

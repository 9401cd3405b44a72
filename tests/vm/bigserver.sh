#!/usr/bin/env bash
# A server with thousands of peers programmed by wgq over genl matches what `wg setconf`
# programs from the same stripped config. Prints the timings.
. "$(dirname "$0")/lib.sh"
N=${WGQ_VM_PEERS:-5000}
ip netns add big
ip -n big link set lo up
python3 - "$N" "$T/wgb0.conf" <<'PY'
import base64, os, sys
n, path = int(sys.argv[1]), sys.argv[2]
def key():
    b = bytearray(os.urandom(32)); b[0] &= 248; b[31] = (b[31] & 127) | 64
    return base64.b64encode(bytes(b)).decode()
out = ["[Interface]", "PrivateKey = " + key(), "ListenPort = 51820", "Address = 10.0.0.1/16"]
for i in range(n):
    out += ["[Peer]", "PublicKey = " + key(), "AllowedIPs = 10.0.%d.%d/32, 10.%d.%d.0/24" % ((i + 2) // 250 % 250, (i + 2) % 250 + 1, 100 + i // 250, i % 250)]
    if i % 3 == 0:
        out.append("Endpoint = 192.0.2.%d:%d" % (i % 250 + 1, 1024 + i))
    if i % 5 == 0:
        out.append("PersistentKeepalive = 25")
open(path, "w").write("\n".join(out) + "\n")
PY
chmod 600 "$T/wgb0.conf"
t0=$(date +%s.%N)
ip netns exec big "$WGQ" up "$T/wgb0.conf" 2>"$T/up" || { tail "$T/up"; fail "up"; }
t1=$(date +%s.%N)
ip -n big link add wgb1 type wireguard
"$WGQ" strip "$T/wgb0.conf" >"$T/stripped"
t2=$(date +%s.%N)
ip netns exec big wg setconf wgb1 "$T/stripped"
t3=$(date +%s.%N)
ip netns exec big wg showconf wgb0 | sort >"$T/a"
ip netns exec big wg showconf wgb1 | sort >"$T/b"
diff "$T/a" "$T/b" >/dev/null || { diff "$T/a" "$T/b" | head; fail "the devices differ"; }
[ "$(grep -c '^\[Peer\]' "$T/a")" = "$N" ] || fail "peer count"
routes=$(ip -n big route show dev wgb0 | wc -l)
echo "bigserver: ok: $N peers; wgq up (link+genl+addresses+$routes routes) $(echo "$t1 - $t0" | bc) s; wg setconf alone $(echo "$t3 - $t2" | bc) s"

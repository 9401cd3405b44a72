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
ip netns exec big env WGQ_STATS=1 "$WGQ" up "$T/wgb0.conf" 2>"$T/up" || { tail "$T/up"; fail "up"; }
t1=$(date +%s.%N)
grep '^wgq: ' "$T/up" | sed 's/^/bigserver: /' 
ip netns exec big wg showconf wgb0 | sort >"$T/a"
routes=$(ip -n big route show dev wgb0 | grep -vc 'proto kernel')
{ echo "address add 10.0.0.1/16 dev wgb1"; echo "link set mtu 1420 up dev wgb1"
  ip -n big route show dev wgb0 | grep -v 'proto kernel' | awk '{print "route add " $1 " dev wgb1"}'; } >"$T/batch"
t4=$(date +%s.%N); ip netns exec big "$WGQ" down "$T/wgb0.conf" 2>/dev/null || fail "down"; t5=$(date +%s.%N)
# The floor, on the same namespace once wgq's interface is gone: `ip link add` + one
# `wg setconf` of the stripped file + one `ip -batch` of the same addresses and routes.
"$WGQ" strip "$T/wgb0.conf" >"$T/stripped"
t2=$(date +%s.%N)
ip -n big link add wgb1 type wireguard
ip netns exec big wg setconf wgb1 "$T/stripped"
ip -n big -batch "$T/batch"
t3=$(date +%s.%N)
ip netns exec big wg showconf wgb1 | sort >"$T/b"
diff "$T/a" "$T/b" >/dev/null || { diff "$T/a" "$T/b" | head; fail "the devices differ"; }
[ "$(grep -c '^\[Peer\]' "$T/a")" = "$N" ] || fail "peer count"
t6=$(date +%s.%N); ip -n big link del wgb1; t7=$(date +%s.%N)
up=$(echo "$t1 - $t0" | bc); floor=$(echo "$t3 - $t2" | bc)
build=; case $WGQ in */debug/*) build=" (debug build: a correctness run, not the benchmark; bench/kernel-vm.sh times the release build)" ;; esac
echo "bigserver: ok: $N peers, $routes routes; wgq up $up s; floor (ip link add + wg setconf + ip -batch) $floor s; up/floor $(echo "scale=2; $up / $floor" | bc)$build"
echo "bigserver: wgq down $(echo "$t5 - $t4" | bc) s; ip link del $(echo "$t7 - $t6" | bc) s"

#!/usr/bin/env bash
# Benchmark of issue 17 on an N-peer server (default 20000), running on the userspace device
# (wireguard-go) in a fresh network namespace, or the kernel module when it is loaded:
#
#   - adding one client: `wgq peer add IF NAME` (the file edit, the client file and the live
#     apply) against what the installers run: append a [Peer] block, then
#     `wg syncconf IF <(wg-quick strip IF)` (wireguard-install, PiVPN, wg-easy);
#   - listing the clients: `wgq peer list IF` (file and live state) against `wg show IF dump`.
#
#   bench/provision.sh [N]                     REPEAT=5 (median of each)
#   WGQ=path/to/wgq bench/provision.sh 2000
#
# Prints one table row per operation with the median seconds of each side and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
WGQ=${WGQ:-target/release/wgq}
WG_QUICK=${WG_QUICK:-/usr/bin/wg-quick}
REPEAT=${REPEAT:-5}
n=${1:-20000}
[ "$(id -u)" = 0 ] || { echo "skipped: the benchmark needs root (network namespaces)"; exit 0; }
[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }
for t in wg python3 "$WG_QUICK"; do
	command -v "$t" >/dev/null || { echo "skipped: $t is not installed"; exit 0; }
done
WGQ=$(realpath "$WGQ")
work=$(mktemp -d /tmp/wgq-prov-bench.XXXXXX)
id=$(printf '%06x' $$) # the whole pid: names unique among runs at once (one /var/run/wireguard)
ns=wgqprov$id
ifa=wpa$id   # wgq's server
ifb=wpb$id   # the installers' server
del_ns() { { ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null; } || true; ip netns del $ns 2>/dev/null || true; }
trap 'del_ns; rm -rf "$work"' EXIT
del_ns
ip netns add $ns
ip netns exec $ns ip link set lo up
run() { ip netns exec $ns "$@"; }

# Two identical N-peer servers in wgq's format (names, PSKs), on ports of their own.
python3 - "$n" "$work" "$ifa" "$ifb" <<'PY'
import base64, os, sys
n, work, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def key(clamp=True):
    k = bytearray(os.urandom(32))
    if clamp:
        k[0] &= 248; k[31] = (k[31] & 127) | 64
    return base64.b64encode(bytes(k)).decode()
for name, port, priv in ((a, 51820, key()), (b, 51821, key())):
    lines = ["[Interface]", "# ClientEndpoint = 192.0.2.1:%d" % port, "Address = 10.0.0.1/16", "ListenPort = %d" % port,
             "PrivateKey = " + priv, ""]
    for i in range(n):
        hi, lo = divmod(i + 2, 256)
        lines += ["[Peer]", "# Name = p%d" % i, "# Created = 2026-01-01T00:00:00Z", "PublicKey = " + key(),
                  "PresharedKey = " + key(False), "AllowedIPs = 10.0.%d.%d/32" % (hi, lo), ""]
    open(os.path.join(work, name + ".conf"), "w").write("\n".join(lines))
PY
chmod 600 "$work"/*.conf
run "$WGQ" up "$work/$ifa.conf" 2>/dev/null
run "$WGQ" up "$work/$ifb.conf" 2>/dev/null

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

add_wgq=() add_inst=() list_wgq=() list_wg=()
for r in $(seq 1 "$REPEAT"); do
	t0=$(now)
	run "$WGQ" peer add "$work/$ifa.conf" "new$r" >/dev/null 2>&1
	t1=$(now)
	add_wgq+=("$(echo "$t1 - $t0" | bc)")
	# What the installers do: keys (not timed: wgq's time includes making its keys), append, syncconf.
	pub=$(wg genkey | wg pubkey); psk=$(wg genpsk)
	t0=$(now)
	printf '\n### Client new%s\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.0.250.%s/32\n' \
		"$r" "$pub" "$psk" "$r" >>"$work/$ifb.conf"
	run bash -c "wg syncconf $ifb <(\"$WG_QUICK\" strip \"$work/$ifb.conf\")"
	t1=$(now)
	add_inst+=("$(echo "$t1 - $t0" | bc)")
	t0=$(now)
	run "$WGQ" peer list "$work/$ifa.conf" >/dev/null
	t1=$(now)
	list_wgq+=("$(echo "$t1 - $t0" | bc)")
	t0=$(now)
	run wg show "$ifa" dump >/dev/null
	t1=$(now)
	list_wg+=("$(echo "$t1 - $t0" | bc)")
done
# Both devices really have every peer.
for i in $ifa $ifb; do
	got=$(run wg show "$i" peers | wc -l)
	[ "$got" = $((n + REPEAT)) ] || { echo "bench: $i has $got peers, not $((n + REPEAT))" >&2; exit 1; }
done
m() { printf '%s\n' "$@" | median; }
a=$(m "${add_wgq[@]}") b=$(m "${add_inst[@]}") c=$(m "${list_wgq[@]}") d=$(m "${list_wg[@]}")
backend=userspace; [ -d /sys/module/wireguard ] && backend=kernel
echo "N=$n peers, $backend device, median of $REPEAT"
printf '| %-44s | %10s | %-40s | %10s | %7s |\n' "wgq" "seconds" "reference" "seconds" "ratio"
printf '| %-44s | %10.4f | %-40s | %10.4f | %6.1fx |\n' "wgq peer add (edit + live apply)" "$a" \
	"append + wg syncconf <(wg-quick strip)" "$b" "$(echo "$b / $a" | bc -l)"
printf '| %-44s | %10.4f | %-40s | %10.4f | %6.1fx |\n' "wgq peer list" "$c" "wg show IF dump" "$d" \
	"$(echo "$d / $c" | bc -l)"

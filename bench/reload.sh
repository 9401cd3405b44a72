#!/usr/bin/env bash
# Benchmark: reloading a running N-peer server after one peer's AllowedIPs changed, and
# after no change, against what provisioning tools run today (`wg syncconf IF <(strip)`,
# which adds no route) and the floor for one peer (`wg set` + `ip route add`). Userspace
# device (wireguard-go), or the kernel module when loaded; one network namespace per N.
#
#   bench/reload.sh [N ...]          (default: 1000 5000 20000)
#   WGQ=path/to/wgq REPEAT=5 bench/reload.sh 5000
#
# Each figure is the median of REPEAT runs (default 5). A "change" run alternates between
# two files that differ in one peer's AllowedIPs, so every run has exactly one change. The
# last column is wgq's peak RSS over its reloads (getrusage, WGQ_STATS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
WGQ=${WGQ:-target/release/wgq}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 5000 20000)
[ "$(id -u)" = 0 ] || { echo "skipped: the benchmark needs root (network namespaces)"; exit 0; }
for t in wg wireguard-go python3 bc; do command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 0; }; done
[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }
work=$(mktemp -d /tmp/wgq-rbench.XXXXXX)
ns=wgqrbench$$
# Interface names carry the pid too (one /var/run/wireguard for every namespace).
tag=$(printf '%06x' $$)
del_ns() { { ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null; } || true; ip netns del $ns 2>/dev/null || true; }
trap 'del_ns; rm -rf "$work"' EXIT
N="ip netns exec $ns"
repeat=${REPEAT:-5}

# genconf N IFNAME: $work/IFNAME.a.conf and .b.conf, the same but for the AllowedIPs of the
# middle peer; prints that peer's key.
genconf() {
	python3 - "$1" "$2" "$work" <<'PY'
import base64, os, sys
n, name, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def key():
    b = bytearray(os.urandom(32)); b[0] &= 248; b[31] = (b[31] & 127) | 64
    return base64.b64encode(bytes(b)).decode()
head = ["[Interface]", "PrivateKey = " + key(), "ListenPort = 51820", "Address = 10.0.0.1/16", ""]
peers = []
for i in range(n):
    hi, lo = divmod(i + 2, 250)
    ips = "10.0.%d.%d/32" % (hi % 250, lo + 1)
    if i % 2:
        ips += ", 10.%d.%d.0/24" % (100 + (i // 2) // 250, (i // 2) % 250)
    peers.append(["[Peer]", "PublicKey = " + key(), "AllowedIPs = " + ips, ""])
mid = peers[n // 2]
for variant, extra in (("a", ""), ("b", ", 10.99.99.0/24")):
    mid[2] = mid[2].split(", 10.99")[0] + extra
    open(os.path.join(work, "%s.%s.conf" % (name, variant)), "w").write("\n".join(head + [l for p in peers for l in p]))
print(mid[1].split(" = ")[1])
PY
}

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# timed CMD...: seconds the command took (it must succeed)
timed() {
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>>"$work/err" || { echo "bench: failed: $*" >&2; cat "$work/err" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

echo "machine: $(nproc) CPU, $(uname -r), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
printf '%7s %12s %12s %14s %12s %10s\n' peers reload_1_s reload_0_s syncconf_1_s set+route_s peak_rss
for n in "${sizes[@]}"; do
	ifn=wr$tag$n
	key=$(genconf "$n" "$ifn")
	conf=$work/$ifn.conf
	del_ns
	ip netns add $ns
	$N ip link set lo up
	cp "$work/$ifn.a.conf" "$conf"
	$N "$WGQ" up "$conf" >/dev/null 2>&1
	r1=() r0=() s1=() f1=() rss=0 v=a
	for ((r = 0; r < repeat; r++)); do
		# One changed peer: wgq reload.
		[ $v = a ] && v=b || v=a
		cp "$work/$ifn.$v.conf" "$conf"
		t0=$(now)
		$N env WGQ_STATS=1 "$WGQ" reload "$conf" >/dev/null 2>"$work/stats"
		t1=$(now)
		r1+=("$(echo "$t1 - $t0" | bc -l)")
		k=$(sed -n 's/^wgq: peak RSS \([0-9]*\) KiB$/\1/p' "$work/stats" | tail -1)
		[ "${k:-0}" -le "$rss" ] || rss=$k
		# No change: wgq reload of the same file again.
		r0+=("$(timed $N "$WGQ" reload "$conf")")
		# One changed peer: wg syncconf of the stripped file (what the installers run).
		[ $v = a ] && v=b || v=a
		cp "$work/$ifn.$v.conf" "$conf"
		"$WGQ" strip "$conf" >"$work/stripped"
		s1+=("$(timed $N wg syncconf "$ifn" "$work/stripped")")
		# The floor for one peer: wg set + ip route add (and back, untimed).
		f1+=("$(timed $N bash -c "wg set $ifn peer $key allowed-ips 10.0.0.250/32,10.98.0.0/24 && ip route add 10.98.0.0/24 dev $ifn")")
		$N ip route del 10.98.0.0/24 dev "$ifn"
		# Back to the file's state for the next round.
		$N "$WGQ" reload "$conf" >/dev/null 2>&1
	done
	printf '%7d %12.3f %12.3f %14.3f %12.3f %10s\n' "$n" "$(median "${r1[@]}")" "$(median "${r0[@]}")" \
		"$(median "${s1[@]}")" "$(median "${f1[@]}")" "$rss KiB"
	$N "$WGQ" down "$conf" >/dev/null 2>&1
done

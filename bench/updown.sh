#!/usr/bin/env bash
# Benchmark: `up` and `down` of an N-peer server config with wg-quick, wgq and the floor
# (the same work done by one `wg setconf` plus one `ip -batch`), each in a fresh network
# namespace with the userspace device (wireguard-go), or the kernel module when loaded.
#
#   bench/updown.sh [N ...]          (default: 1000 5000 20000)
#   WGQ=path/to/wgq SKIP_WG_QUICK=1 REPEAT=1 bench/updown.sh 200
#
# Half of the peers have an allowed IP outside the interface's subnet, so they need a route
# of their own, as in issue 6. Prints one table row per tool and N: seconds for up and down,
# the ratio to the floor, and wgq's peak RSS (from getrusage, reported by WGQ_STATS=1).
# The floor and wgq run REPEAT times (default 5, alternating) and the median of each column
# is printed, since a link delete alone varies by +-40% from run to run; wg-quick runs once.
set -euo pipefail
cd "$(dirname "$0")/.."
WGQ=${WGQ:-target/release/wgq}
WG_QUICK=${WG_QUICK:-/usr/bin/wg-quick}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 5000 20000)
[ "$(id -u)" = 0 ] || { echo "skipped: the benchmark needs root (network namespaces)"; exit 0; }
[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }
work=$(mktemp -d /tmp/wgq-bench.XXXXXX)
ns=wgqbench$$
# Interface names carry the pid too (fixed-width hex): wireguard-go keeps every namespace's
# control socket in one /var/run/wireguard, so two runs at once must not share a name.
tag=$(printf '%06x' $$)
# Ends what still runs in the namespace (a wireguard-go of a failed run) before deleting it.
del_ns() { { ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null; } || true; ip netns del $ns 2>/dev/null || true; }
trap 'del_ns; rm -rf "$work"' EXIT

genconf() { # N IFNAME -> file
	python3 - "$1" "$2" "$work" <<'PY'
import base64, os, sys
n, name, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def key():
    b = bytearray(os.urandom(32)); b[0] &= 248; b[31] = (b[31] & 127) | 64
    return base64.b64encode(bytes(b)).decode()
lines = ["[Interface]", "PrivateKey = " + key(), "ListenPort = 51820", "Address = 10.0.0.1/16", ""]
for i in range(n):
    hi, lo = divmod(i + 2, 250)
    lines += ["[Peer]", "PublicKey = " + key(), "AllowedIPs = 10.0.%d.%d/32" % (hi % 250, lo + 1)]
    if i % 2:
        lines[-1] += ", 10.%d.%d.0/24" % (100 + (i // 2) // 250, (i // 2) % 250)
    lines.append("")
open(os.path.join(work, name + ".conf"), "w").write("\n".join(lines))
PY
}

fresh_ns() {
	del_ns
	ip netns add $ns
	ip netns exec $ns ip link set lo up
}

now() { date +%s.%N; }

# run_tool TOOL IFNAME -> "up_seconds down_seconds"
run_tool() {
	# Each tool gets its own interface name: a userspace daemon of the previous run may
	# still hold /var/run/wireguard/<if>.sock for a moment after its namespace is gone.
	local tool=$1 ifn=$2${1:0:1} t0 t1 t2
	local conf=$work/$ifn.conf
	cp "$work/$2.conf" "$conf"
	fresh_ns
	t0=$(now)
	case $tool in
	wg-quick) ip netns exec $ns "$WG_QUICK" up "$conf" >/dev/null 2>&1 ;;
	wgq) ip netns exec $ns env WGQ_STATS=1 "$WGQ" up "$conf" >/dev/null 2>"$work/wgq.err" ;;
	floor)
		ip netns exec $ns ip link add dev "$ifn" type wireguard 2>/dev/null || ip netns exec $ns wireguard-go "$ifn" >/dev/null 2>&1
		ip netns exec $ns wg setconf "$ifn" <("$WGQ" strip "$conf")
		{
			echo "address add 10.0.0.1/16 dev $ifn"
			echo "link set mtu 1420 up dev $ifn"
			grep -o '10\.1[0-9][0-9]\.[0-9]*\.0/24' "$conf" | sed "s|.*|route add & dev $ifn|"
		} | ip netns exec $ns ip -batch -
		;;
	esac
	t1=$(now)
	case $tool in
	wg-quick) ip netns exec $ns "$WG_QUICK" down "$conf" >/dev/null 2>&1 ;;
	wgq) ip netns exec $ns "$WGQ" down "$conf" >/dev/null 2>&1 ;;
	floor) ip netns exec $ns ip link del dev "$ifn" ;;
	esac
	t2=$(now)
	echo "$(echo "$t1 - $t0" | bc -l) $(echo "$t2 - $t1" | bc -l)"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

repeat=${REPEAT:-5}
printf '%-9s %7s %9s %9s %9s %9s %10s\n' tool peers up_s down_s up/floor down/floor peak_rss
for n in "${sizes[@]}"; do
	i=$n
	genconf "$n" wb$tag$i
	fus=() fds=() wus=() wds=() rss=0
	for ((r = 0; r < repeat; r++)); do
		read -r u d < <(run_tool floor wb$tag$i)
		fus+=("$u") fds+=("$d")
		read -r u d < <(run_tool wgq wb$tag$i)
		wus+=("$u") wds+=("$d")
		k=$(sed -n 's/^wgq: peak RSS \([0-9]*\) KiB$/\1/p' "$work/wgq.err" | tail -1)
		[ "${k:-0}" -le "$rss" ] || rss=$k
	done
	fu=$(median "${fus[@]}") fd=$(median "${fds[@]}")
	row() { printf '%-9s %7d %9.3f %9.3f %9.2f %9.2f %10s\n' "$1" "$n" "$2" "$3" "$(echo "$2 / $fu" | bc -l)" "$(echo "$3 / $fd" | bc -l)" "$4"; }
	row floor "$fu" "$fd" -
	row wgq "$(median "${wus[@]}")" "$(median "${wds[@]}")" "$rss KiB"
	if [ -z "${SKIP_WG_QUICK:-}" ]; then
		read -r u d < <(run_tool wg-quick wb$tag$i)
		row wg-quick "$u" "$d" -
	fi
done

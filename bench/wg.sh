#!/usr/bin/env bash
# Benchmark: wg(8) on an N-peer device, wireguard-tools' wg against wgq run as `wg`:
# `wg show all dump` and `wg syncconf` of the same file with one peer changed (its
# allowed IPs), medians of REPEAT runs each, alternating. Userspace device (wireguard-go)
# in a network namespace of its own, and a private /run/wireguard (a mount namespace), so
# that `show all` sees only this device.
#
#   bench/wg.sh [N]                    (default 20000)
#   WGQ=path/to/wgq REPEAT=5 bench/wg.sh 5000
#   bench/wg.sh --vm [N]               the same on the kernel module, in the VM
#                                      (tests/vm/wg.sh with REPEAT timed rounds)
#
# Both programs are started by PATH lookup as `wg`. A syncconf run alternates between
# two files that differ in one peer's AllowedIPs, so every run has exactly one change;
# the two devices are compared (`wg showconf`) after the last run. No peer has a
# PersistentKeepalive: wireguard-go 0.0.20220316 then keeps a CPU busy even while the
# device is down (its RSS growing), which would swamp what is measured here.
set -euo pipefail
cd "$(dirname "$0")/.."
WGQ=$(realpath "${WGQ:-target/release/wgq}")
repeat=${REPEAT:-5}
if [ "${1:-}" = --vm ]; then
	[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }
	exec env WGQ="$WGQ" WGQ_VM_WG_PEERS="${2:-20000}" WGQ_VM_WG_REPEAT="$repeat" scripts/vm-test tests/vm/wg.sh
fi
n=${1:-20000}
[ "$(id -u)" = 0 ] || { echo "skipped: the benchmark needs root (namespaces)"; exit 0; }
for t in wg wireguard-go python3 unshare; do command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 0; }; done
[ -x "$WGQ" ] || { echo "bench: $WGQ not built (cargo build --release)" >&2; exit 1; }

if [ "${WGQ_BENCH_INSIDE:-}" != 1 ]; then
	# Again inside fresh mount, network and PID namespaces (wireguard-go dies with them).
	exec unshare --mount --net --pid --fork --kill-child --mount-proc --propagation private \
		env WGQ_BENCH_INSIDE=1 WGQ="$WGQ" REPEAT="$repeat" bash "$0" "$n"
fi
mount -t tmpfs -o mode=0755 tmpfs /run/wireguard 2>/dev/null || { mkdir -p /run/wireguard && mount -t tmpfs -o mode=0755 tmpfs /run/wireguard; }
ip link set lo up
work=$(mktemp -d /tmp/wgq-wgbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
umask 077
mkdir "$work/real" "$work/wgq"
ln -s "$(command -v wg)" "$work/real/wg"
ln -s "$WGQ" "$work/wgq/wg"

python3 - "$n" "$work" <<'PY'
import base64, os, sys
n, work = int(sys.argv[1]), sys.argv[2]
def key():
    b = bytearray(os.urandom(32)); b[0] &= 248; b[31] = (b[31] & 127) | 64
    return base64.b64encode(bytes(b)).decode()
head = ["[Interface]", "PrivateKey = " + key(), "ListenPort = 51820", ""]
peers = []
for i in range(n):
    p = ["[Peer]", "PublicKey = " + key(), "AllowedIPs = 10.%d.%d.%d/32, fd00::%x/128" % (i >> 16 & 255, i >> 8 & 255, i & 255, i)]
    if i % 2:
        p[2] += ", 10.%d.%d.0/24" % (100 + (i >> 8 & 127), i & 255)
    if i % 3 == 0:
        p.append("PresharedKey = " + base64.b64encode(os.urandom(32)).decode())
    if i % 4 == 0:
        p.append("Endpoint = 192.0.2.%d:%d" % (i % 250 + 1, 1024 + i))
    peers.append(p + [""])
mid = peers[n // 2]
base = mid[2]
for variant, extra in (("a", ""), ("b", ", 10.99.99.0/24")):
    mid[2] = base + extra
    open(os.path.join(work, variant + ".conf"), "w").write("\n".join(head + [l for p in peers for l in p]))
PY

# One device per tool (the same file), so each syncconf starts from its own last state.
for t in real wgq; do
	WG_PROCESS_FOREGROUND=1 wireguard-go "wgb$t" >/dev/null 2>&1 &
done
for _ in $(seq 500); do
	[ -S /run/wireguard/wgbreal.sock ] && [ -S /run/wireguard/wgbwgq.sock ] && break
	sleep 0.01
done
sed 's/^ListenPort = 51820$/ListenPort = 51821/' "$work/a.conf" >"$work/a2.conf"
wg setconf wgbreal "$work/a.conf"
wg setconf wgbwgq "$work/a2.conf"

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# timed TOOL CMD...: "wall cpu" seconds of CMD with `wg` being TOOL (it must succeed); cpu
# is the program's own user + system time (the device's work is in wireguard-go).
timed() {
	local tool=$1 t
	shift
	t=$( { TIMEFORMAT='%R %U %S'; time PATH="$work/$tool:$PATH" "$@" >/dev/null 2>>"$work/err"; } 2>&1) ||
		{ echo "bench: failed: $*" >&2; cat "$work/err" >&2; exit 1; }
	awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t"
}
declare -A wall cpu
v=a
for ((r = 0; r < repeat; r++)); do
	read -r w u < <(timed real wg show all dump); wall[dump_real]+="$w " cpu[dump_real]+="$u "
	read -r w u < <(timed wgq wg show all dump); wall[dump_wgq]+="$w " cpu[dump_wgq]+="$u "
	[ $v = a ] && v=b || v=a
	sed 's/^ListenPort = 51820$/ListenPort = 51821/' "$work/$v.conf" >"$work/$v.2.conf"
	read -r w u < <(timed real wg syncconf wgbreal "$work/$v.conf"); wall[sync_real]+="$w " cpu[sync_real]+="$u "
	read -r w u < <(timed wgq wg syncconf wgbwgq "$work/$v.2.conf"); wall[sync_wgq]+="$w " cpu[sync_wgq]+="$u "
done
# Both devices hold the same peers (the ports differ on purpose).
diff <(wg showconf wgbreal | sed 1,3d | sort) <(wg showconf wgbwgq | sed 1,3d | sort) >/dev/null || { echo "bench: the devices differ" >&2; exit 1; }
# And both programs print the same dump of them.
cmp -s <(PATH="$work/real:$PATH" wg show all dump | sort) <(PATH="$work/wgq:$PATH" wg show all dump | sort) || { echo "bench: the dumps differ" >&2; exit 1; }

echo "machine: $(nproc) CPU, $(uname -r), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); wireguard-go $(wireguard-go --version | awk 'NR == 1 {print $2}'), $(wg --version | awk '{print $1, $2}')"
printf '%7s %-28s %9s %9s %7s %9s %9s %7s\n' peers command wg_wall wgq_wall ratio wg_cpu wgq_cpu ratio
for c in dump sync; do
	label="show all dump"
	[ $c = sync ] && label="syncconf (one peer changed)"
	# shellcheck disable=SC2086
	wr=$(median ${wall[${c}_real]}) wq=$(median ${wall[${c}_wgq]}) cr=$(median ${cpu[${c}_real]}) cq=$(median ${cpu[${c}_wgq]})
	printf '%7d %-28s %9.3f %9.3f %7.2f %9.3f %9.3f %7.2f\n' "$n" "$label" "$wr" "$wq" "$(echo "$wq / $wr" | bc -l)" "$cr" "$cq" \
		"$(echo "if ($cr > 0) $cq / $cr else 0" | bc -l)"
done
echo "runs, wall (s): ${wall[dump_real]}/ ${wall[dump_wgq]}/ ${wall[sync_real]}/ ${wall[sync_wgq]}"

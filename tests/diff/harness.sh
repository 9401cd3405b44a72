#!/usr/bin/env bash
# Differential harness: runs the reference wg-quick and wgq on the same config, each in a
# fresh network namespace with veth uplinks (reference Appendix A), and compares what they
# leave behind after every step. See docs/testing-differential.md.
#
#   tests/diff/harness.sh [scenario ...]     (default: every tests/diff/scenarios/*.conf)
#   WGQ=target/debug/wgq WG_QUICK=/usr/bin/wg-quick  (the two tools)
#   KEEP=1: keep the work directory for inspection
#
# A scenario is a config file whose header comments say what to do:
#   # steps: up down            commands run in order (up, down, save, strip)
#   # rc: 0 0                   expected exit status of each step (default all 0)
#   # setup: <shell>            run in the namespace before the first step (repeatable;
#                               %IF% is the interface name, %DIR% the tool's work directory)
#   # reference: upstream       compare with upstream's order where Debian's 2021 script
#                               differs in a way the scenario depends on: PreUp after the
#                               link is created (e6888dd) and `wg addconf` (0b7d982). The
#                               reference is then Debian's script with those two changes
#                               made to a private copy (tests/diff/upstream-ref.sed).
#   # shims: no-resolvconf | no-nft    PATH variations
#   # env: VAR=value ...        extra environment for both tools
#   # known: <sed expression>   applied to both sides' outputs before comparing; every
#                               use names why in a trailing comment (see expected-differences)
# The interface name is derived from the scenario index, different for each tool, and
# normalised to IF in the outputs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
WGQ=${WGQ:-$root/target/debug/wgq}
WG_QUICK=${WG_QUICK:-/usr/bin/wg-quick}
JOBS=${JOBS:-2}
if [ "$(id -u)" != 0 ]; then echo "skipped: needs root (network namespaces)"; exit 77; fi
for t in "$WG_QUICK" wireguard-go nft ip; do
	command -v "$t" >/dev/null || { echo "skipped: $t not installed"; exit 77; }
done
[ -x "$WGQ" ] || { echo "harness: $WGQ is not built" >&2; exit 2; }
work=$(mktemp -d /tmp/wgqdiff.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
	for f in "$here"/scenarios/*.conf; do scenarios+=("$(basename "$f" .conf)"); done
fi

# make_shims DIR VARIANT: resolvconf recorder and nft logger in DIR.
make_shims() {
	local d=$1 variant=$2
	mkdir -p "$d/bin" "$d/rc"
	if [ "$variant" != no-resolvconf ]; then
		cat >"$d/bin/resolvconf" <<SH
#!/bin/bash
echo "resolvconf \$*" >>"$d/resolvconf.log"
case "\$1" in
-a) cat >"$d/rc/\$2"; sed 's/^/  stdin: /' "$d/rc/\$2" >>"$d/resolvconf.log" ;;
-d) rm -f "$d/rc/\$2" ;;
-l) cat "$d/rc/\$2" 2>/dev/null ;;
esac
SH
		chmod +x "$d/bin/resolvconf"
	fi
	if [ "$variant" = no-nft ]; then
		# A PATH without nft: link the tools wg-quick needs into a private dir.
		mkdir -p "$d/sbin"
		for t in ip wg wireguard-go sysctl iptables ip6tables iptables-restore ip6tables-restore iptables-save ip6tables-save bash sed grep sort cat head tr rm mkdir sleep true false echo env readlink stat; do
			p=$(command -v $t) && ln -sf "$p" "$d/sbin/$t"
		done
	fi
}

path_for() {
	local d=$1 variant=$2
	if [ "$variant" = no-nft ]; then echo "$d/bin:$d/sbin"; else echo "$d/bin:$PATH"; fi
}

setup_ns() {
	local ns=$1
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns"
	local N="ip netns exec $ns"
	$N ip link add v0 type veth peer name v1
	$N ip link set lo up
	$N ip link set v0 mtu 1460 up
	$N ip link set v1 mtu 1400 up
	$N ip addr add 192.0.2.1/24 dev v0
	$N ip addr add 198.51.100.1/24 dev v1
	$N ip route add default via 192.0.2.2 dev v0
	$N ip -6 addr add 2001:db8:50::1/64 dev v0 nodad
	$N ip -6 route add default via 2001:db8:50::2 dev v0
}

# sort_peers: wireguard-go lists peers in Go map order (random), so the [Peer] blocks of
# showconf-shaped text are sorted; everything before the first [Peer] stays in place.
sort_peers() {
	python3 -c '
import sys
t = sys.stdin.read()
head, *peers = t.split("[Peer]")
peers = sorted("[Peer]" + p.rstrip("\n") + "\n" for p in peers)
sys.stdout.write(head + "\n".join(peers))
'
}

# teardown_view: the parts of a snapshot that must be back to the start after down
# (empty iptables tables that iptables-restore creates stay behind for both tools, and
# src_valid_mark is never restored).
teardown_view() {
	awk '/^## (nft|iptables)/{f=1; print; next} /^## /{f=0} f && !/IF|wg-quick/{next} /src_valid_mark/{next} {print}' "$1"
}

# snapshot NS IF: the observable state as canonical lines.
snapshot() {
	local ns=$1 ifn=$2 N="ip netns exec $1"
	{
		echo "## links"
		$N ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//; s/link\/ether [0-9a-f:]+ brd [0-9a-f:]+//; s/ +\\ +/ /g' | sed -E 's/@if[0-9]+/@ifN/' | sort
		echo "## addresses"
		$N ip -o addr show | grep -v ' fe80::' | sed -E 's/^[0-9]+: //; s/\\ +valid_lft.*//' | sort
		echo "## routes"
		for f in -4 -6; do $N ip $f route show table all | grep -v -E '^(local |multicast |broadcast )?fe80::|^multicast ff00::/8|^local fe80' ; done | sort
		echo "## rules"
		$N ip -4 rule show; $N ip -6 rule show
		echo "## nft"
		$N nft list ruleset 2>/dev/null | grep -v 'fe80::'
		echo "## iptables"
		for t in iptables-save ip6tables-save; do $N $t 2>/dev/null | grep -v -E '^#|^:' | grep -v fe80; done
		echo "## wg"
		if $N wg show "$ifn" >/dev/null 2>&1; then $N wg showconf "$ifn" | sort_peers; fi
		echo "## sysctl src_valid_mark=$($N sysctl -n net.ipv4.conf.all.src_valid_mark)"
	} 2>&1 | sed "s/$ifn/IF/g"
}

run_scenario() {
	local name=$1 idx=$2 conf="$here/scenarios/$1.conf"
	[ -f "$conf" ] || { echo "FAIL $name: no such scenario"; return 1; }
	local steps rcs variant known setup
	steps=$(sed -n 's/^# steps: //p' "$conf"); [ -n "$steps" ] || steps="up down"
	rcs=$(sed -n 's/^# rc: //p' "$conf")
	variant=$(sed -n 's/^# shims: //p' "$conf")
	reference=$(sed -n 's/^# reference: //p' "$conf")
	local -a extra_env
	read -r -a extra_env <<<"$(sed -n 's/^# env: //p' "$conf")"
	mapfile -t setup < <(sed -n 's/^# setup: //p' "$conf")
	mapfile -t known < <(sed -n 's/^# known: //p' "$conf" | sed 's/ *#[^#]*$//')
	local t
	for t in ref wgq; do
		local d="$work/$name/$t" ifn ns tool
		ifn=$(printf 'w%s%02d%s' "$RUN" "$idx" "$t")
		ns="wgqdiff-$RUN-$idx-$t"
		[ "$t" = ref ] && tool=$WG_QUICK || tool=$WGQ
		if [ "$t" = ref ] && [ "$reference" = upstream ]; then tool=$work/wg-quick-upstream; fi
		mkdir -p "$d"
		make_shims "$d" "$variant"
		sed "s/%IF%/$ifn/g; s|%DIR%|$d|g" "$conf" >"$d/$ifn.conf"
		chmod 600 "$d/$ifn.conf"
		setup_ns "$ns"
		local s
		for s in "${setup[@]}"; do s=${s//%IF%/$ifn}; ip netns exec "$ns" bash -c "${s//%DIR%/$d}" >/dev/null 2>&1; done
		snapshot "$ns" "$ifn" >"$d/state.0"
		local i=1 step
		for step in $steps; do
			local rc
			ip netns exec "$ns" env PATH="$(path_for "$d" "$variant")" WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
				"${extra_env[@]}" "$tool" "$step" "$d/$ifn.conf" >"$d/out.$i" 2>"$d/err.$i" </dev/null
			rc=$?
			echo "rc=$rc" >"$d/rc.$i"
			snapshot "$ns" "$ifn" >"$d/state.$i"
			if [ "$step" = save ] || grep -qi '^SaveConfig *= *true' "$conf"; then
				sed "s/$ifn/IF/g" "$d/$ifn.conf" | sort_peers >"$d/saved.$i"
			fi
			i=$((i + 1))
		done
		for f in "$d"/out.* "$d"/err.* "$d/resolvconf.log"; do
			[ -f "$f" ] && sed -i "s/$ifn/IF/g; s|$d|DIR|g" "$f"
		done
		ip netns del "$ns" 2>/dev/null
		rm -f "/var/run/wireguard/$ifn.sock"
	done
	# Compare.
	local ok=1 i=1 step report="$work/$name/report"
	: >"$report"
	norm() { # apply the scenario's known differences
		local f=$1 e
		cp "$f" "$f.n"
		for e in "${known[@]}"; do sed -i -E "$e" "$f.n"; done
		echo "$f.n"
	}
	for step in $steps; do
		local want_rc
		want_rc=$(echo "$rcs" | awk -v i=$i '{print $i}')
		for t in ref wgq; do
			if [ -n "$want_rc" ] && ! grep -qx "rc=$want_rc" "$work/$name/$t/rc.$i"; then
				echo "step $i ($step): $t exited $(cat "$work/$name/$t/rc.$i"), expected rc=$want_rc" >>"$report"; ok=0
				sed 's/^/    /' "$work/$name/$t/err.$i" >>"$report"
			fi
		done
		if ! diff -q "$work/$name/ref/rc.$i" "$work/$name/wgq/rc.$i" >/dev/null; then
			echo "step $i ($step): exit status differs: ref $(cat "$work/$name/ref/rc.$i"), wgq $(cat "$work/$name/wgq/rc.$i")" >>"$report"; ok=0
		fi
		if ! diff -u "$(norm "$work/$name/ref/state.$i")" "$(norm "$work/$name/wgq/state.$i")" >>"$report"; then
			echo "step $i ($step): state differs (above)" >>"$report"; ok=0
		fi
		for f in "out.$i" "saved.$i"; do
			if [ -f "$work/$name/ref/$f" ] && ! diff -u "$(norm "$work/$name/ref/$f")" "$(norm "$work/$name/wgq/$f")" >>"$report"; then
				echo "step $i ($step): $f differs (above)" >>"$report"; ok=0
			fi
		done
		# Traces: the [#] lines, as a multiset (ordering differences are upstream's, see
		# expected-differences.sed), after mapping 2021 wording onto upstream's.
		for t in ref wgq; do
			grep '^\[#\]' "$work/$name/$t/err.$i" | sed -E -f "$here/expected-differences.sed" | sort >"$work/$name/$t/trace.$i"
		done
		if ! diff -u "$(norm "$work/$name/ref/trace.$i")" "$(norm "$work/$name/wgq/trace.$i")" >>"$report"; then
			echo "step $i ($step): trace differs (above)" >>"$report"; ok=0
		fi
		i=$((i + 1))
	done
	for t in ref wgq; do
		[ -f "$work/$name/$t/resolvconf.log" ] || touch "$work/$name/$t/resolvconf.log"
	done
	if ! diff -u "$(norm "$work/$name/ref/resolvconf.log")" "$(norm "$work/$name/wgq/resolvconf.log")" >>"$report"; then
		echo "resolvconf calls differ (above)" >>"$report"; ok=0
	fi
	# A clean teardown leaves exactly the state before (for both tools).
	if [[ " $steps " == *" down "* ]] && [ -z "$(echo "$rcs" | tr -d '0 ')" ]; then
		local last=$((i - 1))
		for t in ref wgq; do
			if ! diff -u <(teardown_view "$work/$name/$t/state.0") <(teardown_view "$work/$name/$t/state.$last") >>"$report"; then
				echo "$t: state after down differs from before up (above)" >>"$report"; ok=0
			fi
		done
	fi
	if [ $ok = 1 ]; then echo "PASS $name"; else echo "FAIL $name"; sed 's/^/  | /' "$report"; fi
	[ $ok = 1 ]
}
export -f run_scenario snapshot setup_ns make_shims path_for sort_peers teardown_view
# The whole pid at a fixed width (any Linux pid fits 7 digits): names of namespaces and
# interfaces (their sockets in the shared /var/run/wireguard) are unique among harnesses and
# other suites running at once ($$ % 1000 was not).
RUN=$(printf '%07d' $$)
export here work WGQ WG_QUICK RUN

# The upstream-order reference (see `# reference: upstream`): a private copy of Debian's
# script with PreUp moved after add_if and setconf replaced by addconf; refuse to run if
# the edits did not apply (a different wg-quick).
sed -E -f "$here/upstream-ref.sed" "$WG_QUICK" >"$work/wg-quick-upstream"
chmod +x "$work/wg-quick-upstream"
if ! grep -A1 -x $'\tadd_if' "$work/wg-quick-upstream" | grep -q 'execute_hooks "${PRE_UP\[@\]}"' ||
	grep -q 'wg setconf' "$work/wg-quick-upstream"; then
	echo "harness: tests/diff/upstream-ref.sed does not apply to $WG_QUICK" >&2
	exit 2
fi

start=$(date +%s)
idx=0
for s in "${scenarios[@]}"; do idx=$((idx + 1)); echo "$s $idx"; done |
	xargs -P "$JOBS" -L 1 bash -c 'run_scenario "$0" "$1"' >"$work/results" 2>&1
cat "$work/results"
pass=$(grep -c '^PASS' "$work/results")
fail=$(grep -c '^FAIL' "$work/results")
echo "differential: $pass passed, $fail failed ($(( $(date +%s) - start )) s)"
[ "$fail" = 0 ]

# Shared helpers for the kernel tests that run inside the VM (sourced).
set -euo pipefail
: "${WGQ:?WGQ must point at the wgq binary}"
T=$(mktemp -d /tmp/wgqvm.XXXXXX)
cleanup() { for n in $(ip netns list | awk '{print $1}'); do ip netns del "$n"; done; rm -rf "$T"; }
trap cleanup EXIT
cleanup; T=$(mktemp -d /tmp/wgqvm.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
T0=$(date +%s.%N)
step() { echo "[$(echo "$(date +%s.%N) - $T0" | bc | cut -c1-6) s] $*"; }
genkey() { "$WGQ" genkey; }
pubkey() { echo "$1" | "$WGQ" pubkey; }
# Two hosts joined by a veth: ns "a" (192.0.2.1, 2001:db8::1) and "b" (192.0.2.2, 2001:db8::2).
two_hosts() {
	ip netns add a; ip netns add b
	ip link add va netns a type veth peer name vb netns b
	ip -n a link set lo up; ip -n b link set lo up
	ip -n a addr add 192.0.2.1/24 dev va; ip -n b addr add 192.0.2.2/24 dev vb
	ip -n a -6 addr add 2001:db8::1/64 dev va nodad; ip -n b -6 addr add 2001:db8::2/64 dev vb nodad
	ip -n a link set va up; ip -n b link set vb up
}
# NS CMD...: runs CMD in NS under strace and fails if it opened more than one netlink
# socket of any protocol (issue 6: one socket per protocol per run).
one_socket_per_protocol() {
	local ns=$1; shift
	ip netns exec "$ns" strace -qq -e trace=socket -o "$T/sockets" "$@" || return 1
	local over
	over=$(grep -o 'NETLINK_[A-Z_]*' "$T/sockets" | sort | uniq -c | awk '$1 > 1')
	# On stdout: the caller's stderr usually goes to a file.
	[ -z "$over" ] || { echo "FAIL: more than one netlink socket per protocol in '$*': $over"; cat "$T/sockets"; exit 1; }
}
state() { # canonical state of a namespace
	local ns=$1
	{ ip -n "$ns" -o link show | sed -E 's/^[0-9]+: //; s/link\/ether [0-9a-f:]+ brd [0-9a-f:]+//'
	  ip -n "$ns" -o addr show | sed -E 's/^[0-9]+: //; s/\\ +valid_lft.*//'
	  ip -n "$ns" -4 route show table all; ip -n "$ns" -6 route show table all
	  ip -n "$ns" -4 rule; ip -n "$ns" -6 rule
	  ip netns exec "$ns" nft list ruleset; } 2>&1 | grep -v fe80 | sort
}

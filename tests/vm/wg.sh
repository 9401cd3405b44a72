#!/usr/bin/env bash
# wg(8) on kernel WireGuard devices (generic netlink): wgq run as `wg` against
# wireguard-tools' /usr/bin/wg, both started by PATH lookup as `wg` (so argv[0], which
# wg's usage prints, is the same). Read-only commands run against the same device; each
# change runs with wireguard-tools on a device in namespace ra and with wgq on its twin in
# rb (same name, same starting state), and the two devices must then be equal
# (`wg showconf`, peers in the kernel's order). Covered: every `show` field, dump, pretty
# (WG_COLOR_MODE=never, keys hidden and shown), `show all`, `interfaces`, showconf;
# set/setconf/addconf/syncconf; a device with thousands of peers (split requests and
# dumps); errors. Where wgq follows upstream wireguard-tools rather than Debian's 2021 wg
# (the `+`/`-` allowed-IPs syntax), the reference is the equivalent plain command.
. "$(dirname "$0")/lib.sh"
N=${WGQ_VM_WG_PEERS:-2500}
# Files on the VM's own tmpfs: the shared /tmp takes no FIFOs and is slow.
T=$(mktemp -d /dev/shm/wgqvm-wg.XXXXXX)
trap 'rm -rf "$T"; cleanup' EXIT
umask 077
# Both programs are copied there too: the VM's root file system (9p, no cache) makes every
# start of a big binary slow (a debug wgq: seconds), which would swamp the comparison.
mkdir -p "$T/bin" "$T/real"
cp "$WGQ" "$T/bin/wg"
cp /usr/bin/wg "$T/real/wg"
BASE=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bad=0
# Under software emulation every program started costs a good fraction of a second, and
# `ip netns exec` more: each namespace gets one shell, started once, that runs the cases
# (`shell ID NS`, entered with nsenter, which is cheaper than `ip netns exec`; then `send ID SCRIPT TOOL [ENV...]` and `done_ ID`); the comparisons use
# bash builtins only.
shell() {
	mkfifo "$T/$1.in" "$T/$1.out"
	nsenter --net="/run/netns/$2" bash <"$T/$1.in" >"$T/$1.out" 2>&1 &
	exec {fd}>"$T/$1.in"
	eval "IN_$1=$fd"
	exec {fd}<"$T/$1.out"
	eval "OUT_$1=$fd"
}
# send ID TOOL SCRIPT [VAR=VALUE...]: SCRIPT with `wg` being TOOL (real or wgq) in shell
# ID; stdout, stderr and status into $T/ID.{o,e,rc}.
send() {
	local id=$1 tool=$2 script=$3 p=$T/real:$BASE fd
	shift 3
	[ "$tool" = wgq ] && p=$T/bin:$BASE
	fd=IN_$id
	printf '(cd %q && export LC_ALL=C WG_COLOR_MODE=never %s && PATH=%q && eval %q) >%q 2>%q; echo $? >%q; echo __done\n' \
		"$T" "$*" "$p" "$script" "$T/$id.o" "$T/$id.e" "$T/$id.rc" >&"${!fd}"
}
done_() {
	local fd=OUT_$1 line
	while IFS= read -r line <&"${!fd}"; do [ "$line" = __done ] && return 0; echo "($1) $line"; done
	fail "the shell of $1 ended"
}
slurp() { IFS= read -r -d '' "$1" <"$2" || true; }
# The outputs of shells A and B equal (pretty output: the handshake's age masked).
equal() {
	local x y
	for f in o e rc; do
		slurp x "$T/$1.$f"
		slurp y "$T/$2.$f"
		if [ "${MASK:-}" = 1 ]; then x=$(mask <<<"$x"); y=$(mask <<<"$y"); fi
		[ "$x" = "$y" ] || return 1
	done
}
mask() { local l; while IFS= read -r l; do [[ $l == *"latest handshake"* ]] && l="  latest handshake: T"; printf '%s\n' "$l"; done; }
mismatch() {
	bad=$((bad + 1))
	echo "MISMATCH: $1"
	echo "  status: wg $(<"$T/$2.rc"), wgq $(<"$T/$3.rc")"
	diff <(sed 's/^/out: /' "$T/$2.o"; sed 's/^/err: /' "$T/$2.e") \
		<(sed 's/^/out: /' "$T/$3.o"; sed 's/^/err: /' "$T/$3.e") | head -20 | sed 's/^/  /' || true
}

# read_same SCRIPT [VAR=VALUE...]: both tools on the same device (namespace a), side by
# side; a live device may move between two reads, so three tries.
read_same() {
	for _ in 1 2 3; do
		send a1 real "$@"
		send a2 wgq "$@"
		done_ a1
		done_ a2
		equal a1 a2 && return 0
	done
	mismatch "$*" a1 a2
}

# change BASEFILE SCRIPT [REFERENCE]: ra and rb programmed from BASEFILE, SCRIPT (IF for
# the interface) by wireguard-tools in ra (or REFERENCE, where wgq follows upstream) and
# by wgq in rb; the same output, then the same device (showconf, the kernel's order).
change() {
	local base=$1 script=$2 ref=${3:-$2} x y
	send ra real "wg setconf wgv0 $base"
	send rb real "wg setconf wgv0 $base"
	done_ ra
	done_ rb
	send ra real "${ref//IF/wgv0}"
	send rb wgq "${script//IF/wgv0}"
	done_ ra
	done_ rb
	equal ra rb || mismatch "$script" ra rb
	send ra real "wg showconf wgv0"
	send rb real "wg showconf wgv0"
	done_ ra
	done_ rb
	slurp x "$T/ra.o"
	slurp y "$T/rb.o"
	if [ "$x" != "$y" ]; then
		bad=$((bad + 1))
		echo "MISMATCH: the device after \`$script\`:"
		diff "$T/ra.o" "$T/rb.o" | head -20 | sed 's/^/  /' || true
	fi
}

step "keys and files"
for k in a b k2; do "$T/bin/wg" genkey >"$T/$k.key"; done
pa=$("$T/bin/wg" pubkey <"$T/a.key") pb=$("$T/bin/wg" pubkey <"$T/b.key")
# Peers that never talk need no private key: random public and preshared keys (42 random
# base64 characters, one whose low bits are zero, `='), and the big device's files, by awk.
head -c $(((N + 16) * 96)) /dev/urandom | base64 -w 42 | awk -v n="$N" -v t="$T" '
	function key() { getline l; return l substr("AEIMQUYcgkosw048", (NR % 16) + 1, 1) "=" }
	BEGIN { split("p1 p2 p3 p4", names, " ") }
	NR == 1 { getline k < (t "/k2.key"); for (i = 1; i <= 4; i++) print key() > (t "/" names[i] ".pub"); print key() > (t "/ab.psk"); print key() > (t "/p1.psk");
		head = "[Interface]\nPrivateKey = " k "\nListenPort = 42000\n"; print head > (t "/big.conf"); print head > (t "/big2.conf")
		for (i = 0; i < n; i++) {
			p = sprintf("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32, fd00::%x/128, 10.200.%d.0/24", key(), int(i / 65536) % 256, int(i / 256) % 256, i % 256, i, i % 250)
			p2 = p
			if (i == int(n / 2)) p2 = p2 ", 10.99.99.0/24"
			x = ""
			if (i % 3 == 0) x = x "\nPresharedKey = " key()
			if (i % 4 == 0) x = x sprintf("\nEndpoint = 192.0.2.%d:%d", i % 250 + 1, 1024 + i)
			if (i % 5 == 0) x = x "\nPersistentKeepalive = 25"
			print p x "\n" > (t "/big.conf")
			if (i != int(n / 3)) print p2 x "\n" > (t "/big2.conf")
		}
		exit }' || [ "${PIPESTATUS[2]}" = 0 ] # head and base64 end on SIGPIPE when awk has enough
p1=$(<"$T/p1.pub") p2=$(<"$T/p2.pub") p3=$(<"$T/p3.pub") p4=$(<"$T/p4.pub")
cat >"$T/a.conf" <<CONF
[Interface]
PrivateKey = $(<"$T/a.key")
ListenPort = 51820
FwMark = 0x4d2

[Peer]
PublicKey = $pb
PresharedKey = $(<"$T/ab.psk")
AllowedIPs = 10.9.0.2/32, fd09::2/128
Endpoint = 192.0.2.2:51820
PersistentKeepalive = 25

[Peer]
PublicKey = $p1
PresharedKey = $(<"$T/p1.psk")
AllowedIPs = 10.1.0.0/16, 10.11.0.0/16, fd01::/64, fd11::/64
Endpoint = [2001:db8::7]:7777

[Peer]
PublicKey = $p2
Endpoint = [::ffff:198.51.100.7]:51820

[Peer]
PublicKey = $p3
AllowedIPs = 0.0.0.0/0, ::/0
PersistentKeepalive = 65535
CONF
cat >"$T/b.conf" <<CONF
[Interface]
PrivateKey = $(<"$T/b.key")
ListenPort = 51820

[Peer]
PublicKey = $pa
PresharedKey = $(<"$T/ab.psk")
AllowedIPs = 10.9.0.1/32, fd09::1/128
Endpoint = [2001:db8::1]:51820
CONF
cat >"$T/base.conf" <<CONF
[Interface]
PrivateKey = $(<"$T/a.key")
ListenPort = 41000
FwMark = 7

[Peer]
PublicKey = $p1
PresharedKey = $(<"$T/p1.psk")
AllowedIPs = 10.1.0.0/16, fd01::/64
Endpoint = 192.0.2.1:1
PersistentKeepalive = 25

[Peer]
PublicKey = $p2
AllowedIPs = 10.2.0.0/16
CONF
printf '[Interface]\nListenPort = 41001\nPrivateKey = %s\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.3.0.0/16\n' "$(<"$T/k2.key")" "$p3" >"$T/replace.conf"
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.1.0.0/16\n' "$p1" >"$T/noport.conf"
printf '# BEGIN_PEER c\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.4.0.1/32\n# END_PEER c\n' "$p4" "$(<"$T/ab.psk")" >"$T/frag.conf"
printf '[interface]\nlistenport = 41002\nfwmark = 0x20\n[peer]\npublickey = %s\nallowed ips = 10.9.0.0/16 , fd09::/64\nendpoint = [::1]:5\n' "$p1" >"$T/nixos.conf"
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 41000\nFwMark = 7\n\n' "$(<"$T/a.key")"
	printf '[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.1.0.0/16, fd01::/64, 10.101.0.0/16\nEndpoint = 192.0.2.1:1\nPersistentKeepalive = 25\n\n' "$p1" "$(<"$T/p1.psk")"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.3.0.0/16\n' "$p3"
} >"$T/sync.conf"
printf '[Interface]\nPrivateKey = %s\nListenPort = 41000\n' "$(<"$T/a.key")" >"$T/nopeers.conf"

step "a live pair"
# Two hosts on a veth (as lib.sh's two_hosts, in three `ip` runs: each start is dear here).
ip netns add a
ip netns add b
ip link add va netns a type veth peer name vb netns b
ip -n a -batch - <<IP
link set lo up
addr add 192.0.2.1/24 dev va
addr add 2001:db8::1/64 dev va nodad
link set va up
link add wgv0 type wireguard
link add wgv1 type wireguard
link add dummy0 type dummy
IP
ip -n b -batch - <<IP
link set lo up
addr add 192.0.2.2/24 dev vb
addr add 2001:db8::2/64 dev vb nodad
link set vb up
link add wgv0 type wireguard
IP
shell a1 a
shell a2 a
nsenter --net=/run/netns/b wg setconf wgv0 "$T/b.conf" || fail "setconf b"
send a1 real "wg setconf wgv0 $T/a.conf && ip -batch - <<IP
addr add 10.9.0.1/24 dev wgv0
addr add fd09::1/64 dev wgv0 nodad
link set wgv0 up
IP"
done_ a1
[ "$(<"$T/a1.rc")" = 0 ] || fail "setconf a: $(<"$T/a1.e")"
ip -n b -batch - <<IP
addr add 10.9.0.2/24 dev wgv0
addr add fd09::2/64 dev wgv0 nodad
link set wgv0 up
IP
send a1 real "ping -c 1 -W 5 10.9.0.2 || ping -c 1 -W 5 10.9.0.2"
done_ a1
[ "$(<"$T/a1.rc")" = 0 ] || fail "no ping through the tunnel: $(<"$T/a1.o")"

step "show"
# Every field of the live device, then `all` forms (which add the empty device).
fields="public-key private-key listen-port fwmark peers preshared-keys endpoints allowed-ips latest-handshakes transfer persistent-keepalive dump"
for f in $fields; do read_same "wg show wgv0 $f"; done
for f in dump peers allowed-ips transfer; do read_same "wg show all $f"; done
MASK=1 read_same "wg"
MASK=1 read_same "wg show all" WG_HIDE_KEYS=never
MASK=1 read_same "wg show wgv1; wg show wgv0" WG_COLOR_MODE=always
[[ $(<"$T/a2.o") == *"latest handshake"* ]] || fail "no handshake shown"
read_same "wg show interfaces; wg showconf wgv0; wg showconf wgv1"

step "errors"
for c in "wg show nonexistent" "wg showconf nonexistent" "wg show dummy0" "wg showconf dummy0" \
	"wg set nonexistent listen-port 1" "wg set dummy0 listen-port 1" "wg setconf nonexistent $T/b.conf" \
	"wg syncconf nonexistent $T/b.conf" "wg addconf dummy0 $T/b.conf" "wg show wgv0 bogus" \
	"wg set wgv0 listen-port 51820 peer $p1 fwmark 1" "wg setconf wgv0 <(printf '[Interface]\nAddress = 10.0.0.1/24\n')" \
	"wg set wgv1 listen-port 51820" "wg set wgv0 peer $p1 allowed-ips 10.0.0.0/33"; do
	read_same "$c"
done

step "changes"
ip netns add ra
ip netns add rb
for n in ra rb; do ip -n $n -batch - <<IP; done
link set lo up
link add wgv0 type wireguard
link add wgb0 type wireguard
IP
shell ra ra
shell rb rb
B=$T/base.conf
change "$B" "wg set IF listen-port 41010 fwmark 0x10 private-key $T/k2.key peer $p1 remove peer $p3"
change "$B" "wg set IF listen-port 0 fwmark off private-key /dev/null peer $p1 preshared-key /dev/null peer $p2 preshared-key $T/ab.psk"
change "$B" "wg set IF peer $p1 allowed-ips ' 10.5.0.1 , fd05::1/64 ,10.6.0.0/8' peer $p2 allowed-ips '' endpoint [2001:db8::5]:7 persistent-keepalive 9"
change "$B" "wg set IF peer $p1 endpoint localhost:51820 persistent-keepalive off peer $p3 allowed-ips 10.1.0.0/16"
change "$B" "cat $T/replace.conf | wg setconf IF /dev/stdin"
change "$B" "wg addconf IF <(sed -n '/^# BEGIN_PEER c/,/^# END_PEER c/p' $T/frag.conf) && wg addconf IF $T/noport.conf"
change "$B" "wg setconf IF $T/nixos.conf"
change "$B" "wg syncconf IF $T/sync.conf"
change "$B" "wg syncconf IF $T/nopeers.conf"
change "$T/replace.conf" "wg syncconf IF $T/base.conf"
# Upstream's incremental syntax: `+` adds (on every kernel); the reference is the whole list.
change "$B" "wg set IF peer $p1 allowed-ips +10.8.0.0/16,+fd08::/64" "wg set IF peer $p1 allowed-ips 10.1.0.0/16,fd01::/64,10.8.0.0/16,fd08::/64"
# `-` needs Linux 6.16: an older kernel refuses the attribute and the device stays as it was.
v=$(uname -r)
if (( ${v%%.*} * 100 + $(v=${v#*.}; echo "${v%%[.-]*}") < 616 )); then
	change "$B" "wg set IF peer $p1 allowed-ips -10.1.0.0/16" "echo 'Unable to modify interface: Invalid argument' >&2; exit 1"
else
	change "$B" "wg set IF peer $p1 allowed-ips -10.1.0.0/16" "wg set IF peer $p1 allowed-ips fd01::/64"
fi

step "a device with $N peers"
us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
secs() { printf '%d.%03d' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
# timed ID TOOL SCRIPT: runs it alone and sets $took (µs).
timed() { local t0; t0=$(us); send "$1" "$2" "$3"; done_ "$1"; took=$(($(us) - t0)); }
# Big outputs are compared with cmp (bash's own string handling is slow at this size).
big_equal() { cmp -s "$T/ra.o" "$T/rb.o" && cmp -s "$T/ra.e" "$T/rb.e" && cmp -s "$T/ra.rc" "$T/rb.rc"; }
same_device() {
	send ra real "wg showconf wgb0"
	send rb real "wg showconf wgb0"
	done_ ra
	done_ rb
	big_equal || { bad=$((bad + 1)); echo "MISMATCH: the $N-peer devices differ $1"; diff "$T/ra.o" "$T/rb.o" | head || true; }
}
timed ra real "wg setconf wgb0 $T/big.conf"; tr=$took
timed rb wgq "wg setconf wgb0 $T/big.conf"; tq=$took
big_equal || mismatch "setconf of $N peers" ra rb
echo "wg: setconf of $N peers: wireguard-tools $(secs $tr) s, wgq $(secs $tq) s"
same_device "after setconf"
[ "$(grep -c '^\[Peer\]' "$T/rb.o")" = "$N" ] || fail "the device has $(grep -c '^\[Peer\]' "$T/rb.o") peers, not $N"
timed ra real "wg show all dump"; tr=$took
timed rb wgq "wg show all dump"; tq=$took
big_equal || mismatch "show all dump of $N peers" ra rb
echo "wg: show all dump of $N peers: wireguard-tools $(secs $tr) s, wgq $(secs $tq) s"
send ra real "wg showconf wgb0; wg show wgb0 allowed-ips; wg show wgb0" WG_HIDE_KEYS=never
send rb wgq "wg showconf wgb0; wg show wgb0 allowed-ips; wg show wgb0" WG_HIDE_KEYS=never
done_ ra
done_ rb
big_equal || mismatch "showconf, allowed-ips and pretty of $N peers" ra rb
timed ra real "wg syncconf wgb0 $T/big2.conf"; tr=$took
timed rb wgq "wg syncconf wgb0 $T/big2.conf"; tq=$took
big_equal || mismatch "syncconf of $N peers" ra rb
echo "wg: syncconf of $N peers (one changed, one gone): wireguard-tools $(secs $tr) s, wgq $(secs $tq) s"
same_device "after syncconf"
# `bench/wg.sh --vm` (WGQ_VM_WG_REPEAT): more timed rounds of each (medians; syncconf alternates between
# the two files, so each round changes one peer and puts one back).
if [ "${WGQ_VM_WG_REPEAT:-0}" -gt 0 ]; then
	median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
	declare -A runs
	for ((r = 0; r < WGQ_VM_WG_REPEAT; r++)); do
		f=$T/big.conf
		((r % 2)) && f=$T/big2.conf
		for tool in real wgq; do
			id=ra
			[ $tool = wgq ] && id=rb
			timed $id $tool "wg show all dump >/dev/null"; runs[dump_$tool]+="$took "
			timed $id $tool "wg syncconf wgb0 $f"; runs[sync_$tool]+="$took "
		done
	done
	for c in dump sync; do
		# shellcheck disable=SC2086
		echo "wg: median of $WGQ_VM_WG_REPEAT, $c, $N peers: wireguard-tools $(secs "$(median ${runs[${c}_real]})") s, wgq $(secs "$(median ${runs[${c}_wgq]})") s"
	done
fi
# The big devices go with their namespaces (deleting them is slow under emulation).
[ $bad = 0 ] || fail "$bad mismatches"
step "wg: ok"

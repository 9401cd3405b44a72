#!/bin/bash
# Runs wgq against the real systemd-resolved of Debian 12 (unpacked, never installed), for
# tests/resolved_netns.rs. Run as `unshare -m -n --propagation private bash real.sh`: a
# private mount namespace (its own /run, /sys, and /etc/passwd with resolved's user) and a
# network namespace holding only lo and a veth, with a private system bus at the usual
# /run/dbus/system_bus_socket. Environment: WGQ, RESOLVED_ROOT, BUS_CONF (template), WORK
# (a directory of the caller), IFNAME. Prints `STEP <name> rc=<n>` and what it checks;
# the Rust test asserts on that output.
set -u
R=$RESOLVED_ROOT
mount -t tmpfs tmpfs /run || exit 90
mount -t sysfs sysfs /sys || exit 90
mkdir -p /run/dbus /run/systemd/resolved.conf.d /run/wgq-test "$WORK/bin"
cp /etc/passwd /run/wgq-test/passwd
cp /etc/group /run/wgq-test/group
# resolved drops privileges to this user when started as root.
grep -q '^systemd-resolve:' /etc/passwd || echo 'systemd-resolve:x:996:996:systemd Resolver:/:/usr/sbin/nologin' >>/run/wgq-test/passwd
grep -q '^systemd-resolve:' /etc/group || echo 'systemd-resolve:x:996:' >>/run/wgq-test/group
mount --bind /run/wgq-test/passwd /etc/passwd
mount --bind /run/wgq-test/group /etc/group
# No stub listener, no multicast, no compiled-in fallback servers: nothing leaves for real.
printf '[Resolve]\nDNSStubListener=no\nLLMNR=no\nMulticastDNS=no\nFallbackDNS=\n' >/run/systemd/resolved.conf.d/wgq-test.conf
sed "s|@SOCKET@|/run/dbus/system_bus_socket|" "$BUS_CONF" >/run/wgq-test/bus.conf
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v0 up
ip link set v1 up
ip addr add 192.0.2.1/24 dev v0
dbus-daemon --config-file=/run/wgq-test/bus.conf --nofork --nopidfile 2>/dev/null &
bus=$!
for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.05; done
SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info "$R/lib/systemd/systemd-resolved" >"$WORK/resolved.log" 2>&1 &
resolved=$!
busctl --system monitor org.freedesktop.resolve1 >"$WORK/monitor.log" 2>&1 &
monitor=$!
# Deleting the link also ends a wireguard-go left by a failed step.
cleanup() {
	ip link del "$IFNAME" 2>/dev/null
	kill $monitor $resolved $bus 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT
owner=no
for _ in $(seq 100); do
	if [ "$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.resolve1 2>/dev/null)" = "b true" ]; then
		owner=yes
		break
	fi
	sleep 0.05
done
echo "RESOLVED_ON_BUS $owner"
[ $owner = yes ] || { cat "$WORK/resolved.log"; exit 91; }
cp "$R/usr/bin/resolvectl" "$WORK/bin/resolvectl"
export PATH="$WORK/bin:$PATH"
conf() {
	cat >"$WORK/$IFNAME.conf" <<CONF
[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.77.0.2/24
$1
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 10.77.0.0/24
Endpoint = 192.0.2.2:51820
CONF
	chmod 600 "$WORK/$IFNAME.conf"
}
props() {
	local i
	i=$(cat /sys/class/net/$IFNAME/ifindex 2>/dev/null) || { echo "PROPS $1 gone"; return; }
	for p in DNS Domains DefaultRoute; do
		echo "PROPS $1 $p $(busctl get-property org.freedesktop.resolve1 /org/freedesktop/resolve1/link/_3$i org.freedesktop.resolve1.Link $p)"
	done
}
step() {
	local name=$1
	shift
	"$WGQ" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	echo "STEP $name rc=$?"
}
reverts() { echo "REVERTS $1 $(grep -c 'Member=RevertLink' "$WORK/monitor.log")"; }

conf "DNS = 192.0.2.53, 2001:db8::53, corp.example"
step up up "$WORK/$IFNAME.conf"
props up
echo "STATUS $(resolvectl status "$IFNAME" | tr -s ' \n' ' ')"
# reload: new servers and domain, then DNS removed (a revert on the live link).
conf "DNS = 198.51.100.53, lab.example"
step reload1 reload "$WORK/$IFNAME.conf"
props reload1
conf ""
step reload2 reload "$WORK/$IFNAME.conf"
props reload2
reverts reload2
conf "DNS = 192.0.2.53, corp.example"
step reload3 reload "$WORK/$IFNAME.conf"
props reload3
step down down "$WORK/$IFNAME.conf"
props down
sleep 0.2
reverts down
# A failing PostUp after DNS was set: the first PostUp sees the settings, the rollback
# reverts them.
conf "DNS = 192.0.2.53, corp.example
PostUp = busctl get-property org.freedesktop.resolve1 /org/freedesktop/resolve1/link/_3\$(cat /sys/class/net/%i/ifindex) org.freedesktop.resolve1.Link Domains >$WORK/during.txt
PostUp = exit 3"
step failed up "$WORK/$IFNAME.conf"
echo "DURING $(cat "$WORK/during.txt")"
props failed
sleep 0.2
reverts failed
echo "ERRORS $(grep -ci 'error\|failed' "$WORK/monitor.log")"

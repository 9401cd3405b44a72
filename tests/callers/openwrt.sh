#!/usr/bin/env bash
# OpenWrt (package/network/utils/wireguard-tools/files: the proto handler, the watchdog,
# rpcd; LuCI's luci.wireguard): the link made by netifd (`ip link add ... type wireguard`;
# here, without the kernel module, the userspace implementation stands in), the
# configuration fed as `printf ... | wg syncconf IF /dev/stdin` (keys as `Key=value`),
# addresses and routes with ip; then the status polls: `wg show IF latest-handshakes`,
# `endpoints` and `persistent-keepalive` read as two columns, the watchdog's
# `wg set IF peer KEY endpoint HOST:PORT` for a peer whose handshake is old, LuCI's
# `wg show all dump` split into devices where the first column changes, and keys from
# `wg genkey`, `wg genpsk` and `echo KEY | wg pubkey`.
. "$(dirname "$0")/lib.sh"

# The proto handler's configuration, from "UCI" (files here). $1: whether the site peer is there.
feed() {
	{
		printf '[Interface]\nPrivateKey=%s\nListenPort=%s\n' "$(cat keys/router.key)" "$PORT"
		printf '[Peer]\nPublicKey=%s\nPresharedKey=%s\nAllowedIPs=10.10.0.2/32\nAllowedIPs=fd10::2/128\n' \
			"$(cat keys/phone.pub)" "$(cat keys/phone.psk)"
		if [ "$1" = with-site ]; then
			printf '[Peer]\nPublicKey=%s\nAllowedIPs=10.20.0.0/16\nEndpoint=localhost:51999\nPersistentKeepalive=25\n' "$(cat keys/site.pub)"
		fi
	} | wg syncconf "$IF" /dev/stdin
	rc "syncconf /dev/stdin ($1)" $?
}

poll() {
	say "poll:"
	wg show "$IF" latest-handshakes | while IFS=$'\t' read -r k t; do say "handshake $k $(when "$t")"; done | rows
	wg show "$IF" endpoints | while IFS=$'\t' read -r k e; do say "endpoint $k $e"; done | rows
	wg show "$IF" persistent-keepalive | while IFS=$'\t' read -r k v; do say "keepalive $k $v"; done | rows
}

# The watchdog: peers with a keepalive whose last handshake is older than 150 s get their
# endpoint resolved again.
watchdog() {
	local now k t ka
	now=$(date +%s)
	wg show "$IF" latest-handshakes | while IFS=$'\t' read -r k t; do
		ka=$(wg show "$IF" persistent-keepalive | awk -v k="$k" -F'\t' '$1 == k {print $2}')
		[ "$ka" = off ] && continue
		if [ $((now - t)) -gt 150 ]; then
			wg set "$IF" peer "$k" endpoint "localhost:51999"
			say "watchdog: re-resolved $k rc=$?"
		fi
	done
}

# LuCI: devices from `wg show all dump`, a new one where the first column changes.
luci() {
	wg show all dump | awk -F'\t' '
		$1 != dev { dev = $1; print "device " dev " port=" $4 " fwmark=" $5 " columns=" NF; next }
		{ print "| peer of " dev " " $2 " endpoint=" $4 " ips=" $5 " keepalive=" $9 " columns=" NF }'
	rc "wg show all dump" "${PIPESTATUS[0]}"
}

case $1 in
up)
	for k in router phone site; do
		wg genkey >"keys/$k.key"
		echo "$(cat "keys/$k.key")" | wg pubkey >"keys/$k.pub"
	done
	wg genpsk >keys/phone.psk
	rc "genpsk" $?
	# netifd's link.
	wireguard-go "$IF" >/dev/null 2>&1
	rc "wireguard-go (the link)" $?
	feed with-site
	ip -4 address add 10.10.0.1/24 dev "$IF"
	ip -6 address add fd10::1/64 dev "$IF"
	ip link set up dev "$IF"
	ip route add 10.20.0.0/16 dev "$IF"
	poll
	luci
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.10.0.2/24\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.10.0.0/24\nEndpoint = %s:%s\nPersistentKeepalive = 25\n' \
		"$(cat keys/phone.key)" "$PHONE_PORT" "$(cat keys/router.pub)" "$(cat keys/phone.psk)" "$SERVER" "$PORT" >clients/phone.conf
	echo 10.10.0.1 >clients/phone.ping
	;;
live)
	poll
	watchdog | rows
	poll
	luci
	# `ifup` after the site peer was deleted in UCI.
	feed without-site
	ip route del 10.20.0.0/16 dev "$IF"
	poll
	luci
	;;
down)
	ip link del dev "$IF"
	rc "ip link del" $?
	gone "$IF"
	luci
	wg show "$IF" latest-handshakes
	rc "latest-handshakes after del" $?
	;;
esac

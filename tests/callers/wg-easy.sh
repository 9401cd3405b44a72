#!/usr/bin/env bash
# wg-easy (src/server/utils/wgHelper.ts, run through `bash -c`; the Dockerfile's
# HEALTHCHECK): keys from `wg genkey`, `echo KEY | wg pubkey` and `wg genpsk`; the whole
# /etc/wireguard file rewritten from its database after every change, then
# `wg syncconf IF <(wg-quick strip IF)`; `wg-quick down IF; wg-quick up IF` at start;
# `wg show IF dump` parsed for the clients' status (first line dropped, eight
# tab-separated columns, `(none)` and `0` read as missing); `wg show | grep -q interface`
# and `/usr/bin/wg show | grep -q interface` as health checks.
. "$(dirname "$0")/lib.sh"
mkdir -p db

# client NAME N: a client's keys and its block in the database.
client() {
	local priv pub psk
	priv=$(wg genkey)
	say "genkey $1: rc=$? $(shape "$priv")"
	pub=$(echo "$priv" | wg pubkey)
	say "pubkey $1: rc=$? $(shape "$pub")"
	psk=$(wg genpsk)
	say "genpsk $1: rc=$? $(shape "$psk")"
	printf '%s\n' "$priv" >"keys/$1.key"
	printf '%s\n' "$pub" >"keys/$1.pub"
	printf '%s\n' "$psk" >"keys/$1.psk"
	printf '# Client: %s\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.8.0.%d/32, fdcc:ad94:bacf:61a4::cafe:%d/128\n\n' \
		"$1" "$pub" "$psk" "$2" "$2" >"db/$1"
}

# The file, whole, from the server's keys and the enabled clients.
write_conf() {
	{
		printf '# written by the web interface\n\n[Interface]\nPrivateKey = %s\nAddress = 10.8.0.1/24, fdcc:ad94:bacf:61a4::cafe:1/112\nListenPort = %s\n' \
			"$(cat keys/server.key)" "$PORT"
		printf 'PostUp = iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o %s -j MASQUERADE; iptables -A INPUT -p udp -m udp --dport %s -j ACCEPT; iptables -A FORWARD -i %s -j ACCEPT; iptables -A FORWARD -o %s -j ACCEPT\n' \
			"$UPLINK" "$PORT" "$IF" "$IF"
		printf 'PostDown = iptables -t nat -D POSTROUTING -s 10.8.0.0/24 -o %s -j MASQUERADE; iptables -D INPUT -p udp -m udp --dport %s -j ACCEPT; iptables -D FORWARD -i %s -j ACCEPT; iptables -D FORWARD -o %s -j ACCEPT\n\n' \
			"$UPLINK" "$PORT" "$IF" "$IF"
		cat db/* 2>/dev/null
	} >"$CONF"
}

# The clients' status as the web interface builds it from the dump.
status() {
	local dump
	dump=$(wg show "$IF" dump)
	say "dump: rc=$? lines=$(printf '%s\n' "$dump" | wc -l) interface-columns=$(head -1 <<<"$dump" | awk -F'\t' '{print NF}')"
	tail -n +2 <<<"$dump" | while IFS=$'\t' read -r pub psk endpoint ips hs rx tx keepalive; do
		[ "$endpoint" = "(none)" ] && endpoint=null
		say "client $pub psk=$psk endpoint=$endpoint allowedIps=$(sorted_list "$ips") handshake=$(when "$hs") rx=$(amount "$rx") tx=$(amount "$tx") keepalive=$keepalive"
	done | rows
}

health() {
	wg show | grep -q interface
	rc "health: wg show | grep -q interface" $?
	/usr/bin/wg show | grep -q interface
	rc "health: /usr/bin/wg show | grep -q interface" $?
}

case $1 in
up)
	health
	priv=$(wg genkey)
	say "genkey server: rc=$? $(shape "$priv")"
	printf '%s\n' "$priv" >keys/server.key
	pub=$(echo "$priv" | wg pubkey)
	say "pubkey server: rc=$?"
	printf '%s\n' "$pub" >keys/server.pub
	client phone 2
	write_conf
	# At start: down whatever runs, then up.
	wg-quick down "$IF" 2>>"$QLOG"
	rc "wg-quick down (nothing up)" $?
	wg-quick up "$IF" 2>>"$QLOG"
	rc "wg-quick up" $?
	status
	health
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.8.0.2/24\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.8.0.0/24\nEndpoint = %s:%s\nPersistentKeepalive = 25\n' \
		"$(cat keys/phone.key)" "$PHONE_PORT" "$(cat keys/server.pub)" "$(cat keys/phone.psk)" "$SERVER" "$PORT" >clients/phone.conf
	echo 10.8.0.1 >clients/phone.ping
	;;
live)
	status
	health
	# A new client, then its address changed, then the client removed.
	client laptop 3
	write_conf
	wg syncconf "$IF" <(wg-quick strip "$IF" 2>>"$QLOG")
	rc "syncconf (laptop added)" $?
	status
	sed -i 's|^AllowedIPs = 10.8.0.3/32, .*|AllowedIPs = 10.8.0.33/32|' db/laptop
	write_conf
	wg syncconf "$IF" <(wg-quick strip "$IF" 2>>"$QLOG")
	rc "syncconf (laptop's address)" $?
	status
	rm db/laptop
	write_conf
	wg syncconf "$IF" <(wg-quick strip "$IF" 2>>"$QLOG")
	rc "syncconf (laptop removed)" $?
	status
	# Restart from the interface: down, then up.
	wg-quick down "$IF" 2>>"$QLOG"
	rc "wg-quick down" $?
	wg-quick up "$IF" 2>>"$QLOG"
	rc "wg-quick up" $?
	status
	;;
down)
	wg-quick down "$IF" 2>>"$QLOG"
	rc "wg-quick down" $?
	health
	wg show "$IF" dump
	rc "dump after down" $?
	;;
esac

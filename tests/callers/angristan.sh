#!/usr/bin/env bash
# angristan/wireguard-install (wireguard-install.sh): `command -v wg` to see whether
# WireGuard is installed; keys from `wg genkey`, `echo KEY | wg pubkey`, `wg genpsk`; the
# server file with IPv4 and IPv6 addresses and iptables/ip6tables rules in PostUp and
# PostDown, started as the unit does (`wg-quick up IF`); a client added by appending a
# `### Client NAME` block and revoked by deleting it with sed up to the next blank line,
# each followed by `wg syncconf IF <(wg-quick strip IF)`.
. "$(dirname "$0")/lib.sh"

# add_client NAME N
add_client() {
	local priv pub psk
	priv=$(wg genkey)
	pub=$(echo "$priv" | wg pubkey)
	psk=$(wg genpsk)
	say "keys for $1: $(shape "$priv") $(shape "$pub") $(shape "$psk")"
	printf '%s\n' "$priv" >"keys/$1.key"
	printf '%s\n' "$psk" >"keys/$1.psk"
	printf '\n### Client %s\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.66.66.%d/32,fd42:42:42::%d/128\n' \
		"$1" "$pub" "$psk" "$2" "$2" >>"$CONF"
	wg syncconf "$IF" <(wg-quick strip "$IF" 2>>"$QLOG")
	rc "syncconf (client $1 added)" $?
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.66.66.%d/32,fd42:42:42::%d/128\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nEndpoint = %s:%s\nAllowedIPs = 10.66.66.0/24,fd42:42:42::/64\nPersistentKeepalive = 25\n' \
		"$priv" "$2" "$2" "$PHONE_PORT" "$(cat keys/server.pub)" "$psk" "$SERVER" "$PORT" >"clients/$1.conf"
}

revoke_client() {
	sed -i "/^### Client $1\$/,/^\$/d" "$CONF"
	wg syncconf "$IF" <(wg-quick strip "$IF" 2>>"$QLOG")
	rc "syncconf (client $1 revoked)" $?
}

peers() {
	wg show "$IF" peers | rows
	wg show "$IF" allowed-ips | while read -r k ips; do say "| $k $(sorted_list "$ips" ' ')"; done
}

case $1 in
up)
	command -v wg >/dev/null
	rc "command -v wg" $?
	priv=$(wg genkey)
	pub=$(echo "$priv" | wg pubkey)
	say "server keys: $(shape "$priv") $(shape "$pub")"
	printf '%s\n' "$priv" >keys/server.key
	printf '%s\n' "$pub" >keys/server.pub
	{
		printf '[Interface]\nAddress = 10.66.66.1/24,fd42:42:42::1/64\nListenPort = %s\nPrivateKey = %s\n' "$PORT" "$priv"
		printf 'PostUp = iptables -I INPUT -p udp --dport %s -j ACCEPT\n' "$PORT"
		printf 'PostUp = iptables -I FORWARD -i %s -o %s -j ACCEPT\n' "$UPLINK" "$IF"
		printf 'PostUp = iptables -I FORWARD -i %s -j ACCEPT\n' "$IF"
		printf 'PostUp = iptables -t nat -A POSTROUTING -o %s -j MASQUERADE\n' "$UPLINK"
		printf 'PostUp = ip6tables -I FORWARD -i %s -j ACCEPT\n' "$IF"
		printf 'PostUp = ip6tables -t nat -A POSTROUTING -o %s -j MASQUERADE\n' "$UPLINK"
		printf 'PostDown = iptables -D INPUT -p udp --dport %s -j ACCEPT\n' "$PORT"
		printf 'PostDown = iptables -D FORWARD -i %s -o %s -j ACCEPT\n' "$UPLINK" "$IF"
		printf 'PostDown = iptables -D FORWARD -i %s -j ACCEPT\n' "$IF"
		printf 'PostDown = iptables -t nat -D POSTROUTING -o %s -j MASQUERADE\n' "$UPLINK"
		printf 'PostDown = ip6tables -D FORWARD -i %s -j ACCEPT\n' "$IF"
		printf 'PostDown = ip6tables -t nat -D POSTROUTING -o %s -j MASQUERADE\n' "$UPLINK"
	} >"$CONF"
	wg-quick up "$IF" 2>>"$QLOG"
	rc "wg-quick up (systemctl start wg-quick@IF)" $?
	add_client phone 2
	echo 10.66.66.1 >clients/phone.ping
	peers
	;;
live)
	add_client tablet 3
	add_client laptop 4
	peers
	revoke_client tablet
	peers
	wg show "$IF" endpoints | rows
	;;
down)
	wg-quick down "$IF" 2>>"$QLOG"
	rc "wg-quick down (systemctl stop wg-quick@IF)" $?
	command -v wg >/dev/null
	rc "command -v wg" $?
	;;
esac

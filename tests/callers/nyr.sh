#!/usr/bin/env bash
# Nyr/wireguard-install (wireguard-install.sh): commented lines around the file's
# sections (`# ENDPOINT`, `# BEGIN_PEER NAME` ... `# END_PEER NAME`); keys from
# `wg genkey`, `wg genpsk` and `wg pubkey <<< $key`; the server's public key for a client
# file from `grep PrivateKey FILE | cut -d " " -f 3 | wg pubkey`; a client added to the
# running interface with `wg addconf IF <(sed -n "/^# BEGIN_PEER c/,/^# END_PEER c/p" FILE)`
# and removed with `wg set IF peer KEY remove` (its key taken from the file with sed, grep
# and cut) before its block is deleted with sed.
. "$(dirname "$0")/lib.sh"

# new_client NAME N: the block appended to the file, and the client's own file.
new_client() {
	local key psk
	key=$(wg genkey)
	psk=$(wg genpsk)
	printf '%s\n' "$key" >"keys/$1.key"
	printf '%s\n' "$psk" >"keys/$1.psk"
	cat <<BLOCK >>"$CONF"
# BEGIN_PEER $1
[Peer]
PublicKey = $(wg pubkey <<<"$key")
PresharedKey = $psk
AllowedIPs = 10.7.0.$2/32, fddd:2c4:2c4:2c4::$2/128
# END_PEER $1
BLOCK
	cat <<CLIENT >"clients/$1.conf"
[Interface]
Address = 10.7.0.$2/24, fddd:2c4:2c4:2c4::$2/64
PrivateKey = $key
ListenPort = $PHONE_PORT

[Peer]
PublicKey = $(grep PrivateKey "$CONF" | cut -d " " -f 3 | wg pubkey)
PresharedKey = $psk
AllowedIPs = 10.7.0.0/24
Endpoint = $SERVER:$PORT
PersistentKeepalive = 25
CLIENT
}

add_running() {
	wg addconf "$IF" <(sed -n "/^# BEGIN_PEER $1$/,/^# END_PEER $1$/p" "$CONF")
	rc "addconf (client $1)" $?
}

remove_client() {
	wg set "$IF" peer "$(sed -n "/^# BEGIN_PEER $1$/,\$p" "$CONF" | grep -m 1 PublicKey | cut -d " " -f 3)" remove
	rc "set peer remove (client $1)" $?
	sed -i "/^# BEGIN_PEER $1$/,/^# END_PEER $1$/d" "$CONF"
}

state() { wg show "$IF" dump | tail -n +2 | cut -f 1,2,4 | rows; }

case $1 in
up)
	cat <<SERVER >"$CONF"
# Do not alter the commented lines
# They are used by wireguard-install
# ENDPOINT $SERVER

[Interface]
Address = 10.7.0.1/24, fddd:2c4:2c4:2c4::1/64
PrivateKey = $(wg genkey)
ListenPort = $PORT

SERVER
	say "server key: $(grep PrivateKey "$CONF" | cut -d " " -f 3 | wc -c)"
	grep PrivateKey "$CONF" | cut -d " " -f 3 >keys/server.key
	new_client phone 2
	wg-quick up "$IF" 2>>"$QLOG"
	rc "wg-quick up (systemctl enable --now wg-quick@IF)" $?
	echo 10.7.0.1 >clients/phone.ping
	state
	;;
live)
	new_client second 3
	add_running second
	new_client third 4
	add_running third
	state
	remove_client second
	state
	# Removing a client that is not there: the key text is empty.
	remove_client second
	state
	;;
down)
	wg-quick down "$IF" 2>>"$QLOG"
	rc "wg-quick down (systemctl disable --now wg-quick@IF)" $?
	;;
esac

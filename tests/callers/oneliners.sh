#!/usr/bin/env bash
# One-liners many callers share: `wg genkey | tee FILE | wg pubkey` (linuxserver's image,
# PiVPN), `wg genpsk > FILE`, the warning for a world-readable key file, `wg pubkey` of
# a key read with cut; plain `wg` and `wg show all` (pretty), `wg show all dump`
# (exporters, wg-json), `wg show interfaces`, and a PostUp hook that runs
# `wg addconf %i FILE` to load peers kept in another file.
. "$(dirname "$0")/lib.sh"
IF2=wy${IF#wg}

case $1 in
up)
	pub=$(wg genkey | tee keys/server.key | wg pubkey)
	rc "genkey | tee | pubkey" $?
	say "$pub"
	printf '%s\n' "$pub" >keys/server.pub
	wg genkey | tee keys/second.key | wg pubkey >keys/second.pub
	wg genkey | tee keys/phone.key | wg pubkey >keys/phone.pub
	wg genpsk >keys/phone.psk
	rc "genpsk > FILE" $?
	(umask 022 && wg genkey >world.key)
	rc "genkey > world-readable file" $?
	rm world.key
	printf 'PrivateKey = %s\n' "$(cat keys/server.key)" | cut -d ' ' -f 3 | wg pubkey
	rc "cut | pubkey" $?
	# Peers in a file of their own, loaded by the hook.
	printf '[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.55.0.2/32\n' "$(cat keys/phone.pub)" "$(cat keys/phone.psk)" >"/etc/wireguard/$IF.peers"
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.55.0.1/24\nListenPort = %s\nPostUp = wg addconf %%i /etc/wireguard/%%i.peers\n' \
		"$(cat keys/server.key)" "$PORT" >"$CONF"
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.56.0.1/24\nListenPort = 51840\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.56.0.0/24\nEndpoint = [2001:db8::2]:51841\n' \
		"$(cat keys/second.key)" "$(cat keys/phone.pub)" >"/etc/wireguard/$IF2.conf"
	wg-quick up "$IF" 2>>"$QLOG"
	rc "wg-quick up (PostUp addconf)" $?
	wg-quick up "$IF2" 2>>"$QLOG"
	rc "wg-quick up (second)" $?
	wg show interfaces
	rc "show interfaces" $?
	wg | pretty
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.55.0.2/24\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.55.0.0/24\nEndpoint = %s:%s\nPersistentKeepalive = 25\n' \
		"$(cat keys/phone.key)" "$PHONE_PORT" "$(cat keys/server.pub)" "$(cat keys/phone.psk)" "$SERVER" "$PORT" >clients/phone.conf
	echo 10.55.0.1 >clients/phone.ping
	;;
live)
	wg | pretty
	rc "wg" "${PIPESTATUS[0]}"
	wg show all | pretty
	rc "wg show all" "${PIPESTATUS[0]}"
	WG_HIDE_KEYS=never wg show all | pretty
	# Each device's line, then its peers (in the device's order: rows).
	wg show all dump | awk -F'\t' -v OFS='\t' 'NF == 9 { $6 = ($6 == 0 ? "never" : "recent"); $7 = ($7 == 0 ? 0 : "some"); $8 = ($8 == 0 ? 0 : "some"); $0 = "| " $0 } 1'
	rc "wg show all dump" "${PIPESTATUS[0]}"
	wg show "$IF" | grep -c '^peer: '
	;;
down)
	wg-quick down "$IF" 2>>"$QLOG"
	rc "wg-quick down" $?
	wg-quick down "$IF2" 2>>"$QLOG"
	rc "wg-quick down (second)" $?
	wg
	rc "wg (nothing left)" $?
	;;
esac

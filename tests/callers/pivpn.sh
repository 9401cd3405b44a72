#!/usr/bin/env bash
# PiVPN (scripts/wireguard/*.sh, the systemd override): keys from
# `wg genkey | tee FILE | wg pubkey > FILE` and `wg genpsk | tee FILE`; clients as
# `### begin NAME ###` ... `### end NAME ###` blocks; every change applied with
# `systemctl reload wg-quick@IF`, whose ExecReload is
# `/bin/bash -c 'exec /usr/bin/wg syncconf IF <(exec /usr/bin/wg-quick strip IF)'` (the
# absolute paths: on wgq's side wgq is mounted there); a client disabled by prefixing its
# lines with `#[disabled] ` and enabled by taking the prefix away; clientSTAT's
# `wg show IF dump | tail -n +2 | awk '{print $1,$3,$4,$5,$6,$7}'`.
. "$(dirname "$0")/lib.sh"

reload() {
	/bin/bash -c "exec /usr/bin/wg syncconf $IF <(exec /usr/bin/wg-quick strip $IF 2>>$QLOG)"
	rc "systemctl reload wg-quick@IF ($1)" $?
}

make_conf() {
	wg genkey | tee "keys/$1.key" | wg pubkey >"keys/$1.pub"
	rc "genkey | tee | pubkey ($1)" $?
	wg genpsk | tee "keys/$1.psk" >/dev/null
	rc "genpsk | tee ($1)" $?
	printf '### begin %s ###\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.6.0.%d/32,fd11:5ee:bad:c0de::%d/128\n### end %s ###\n' \
		"$1" "$(cat "keys/$1.pub")" "$(cat "keys/$1.psk")" "$2" "$2" "$1" >>"$CONF"
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.6.0.%d/24\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nEndpoint = %s:%s\nAllowedIPs = 10.6.0.0/24\nPersistentKeepalive = 25\n' \
		"$(cat "keys/$1.key")" "$2" "$PHONE_PORT" "$(cat keys/server.pub)" "$(cat "keys/$1.psk")" "$SERVER" "$PORT" >"clients/$1.conf"
	reload "makeCONF $1"
}

# clientSTAT: public key, endpoint, allowed IPs, handshake, received, sent.
client_stat() {
	wg show "$IF" dump | tail -n +2 | awk '{print $1,$3,$4,$5,$6,$7}' | while read -r pub endpoint ips hs rx tx; do
		say "$pub $endpoint $(sorted_list "$ips") $(when "$hs") $(amount "$rx") $(amount "$tx")"
	done | rows
	rc "clientSTAT dump" "${PIPESTATUS[0]}"
}

case $1 in
up)
	wg genkey | tee keys/server.key | wg pubkey >keys/server.pub
	rc "genkey | tee | pubkey (server)" $?
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.6.0.1/24,fd11:5ee:bad:c0de::1/64\nMTU = 1420\nListenPort = %s\n\n' \
		"$(cat keys/server.key)" "$PORT" >"$CONF"
	/usr/bin/wg-quick up "$IF" 2>>"$QLOG"
	rc "systemctl start wg-quick@IF" $?
	make_conf phone 2
	echo 10.6.0.1 >clients/phone.ping
	client_stat
	;;
live)
	client_stat
	make_conf tv 3
	client_stat
	sed -e "/### begin tv ###/,/end tv ###/ s/^/#[disabled] /" -i "$CONF"
	reload "disableCONF tv"
	client_stat
	sed -e "/### begin tv ###/,/end tv ###/ s/#\[disabled\] //" -i "$CONF"
	reload "enableCONF tv"
	client_stat
	sed "/### begin tv ###/,/### end tv ###/d" -i "$CONF"
	reload "removeCONF tv"
	client_stat
	;;
down)
	/usr/bin/wg-quick down "$IF" 2>>"$QLOG"
	rc "systemctl stop wg-quick@IF" $?
	client_stat
	;;
esac

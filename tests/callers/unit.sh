#!/usr/bin/env bash
# The upstream wg-quick@.service (wireguard-tools src/systemd/wg-quick@.service), as
# systemd runs it: ExecStart `/usr/bin/wg-quick up %i`, ExecReload
# `/bin/bash -c 'exec /usr/bin/wg syncconf %i <(exec /usr/bin/wg-quick strip %i)'`,
# ExecStop `/usr/bin/wg-quick down %i`, with WG_ENDPOINT_RESOLUTION_RETRIES=infinity (on
# wgq's side wgq is mounted at those paths). Reloads after the file changed (a peer added,
# allowed IPs changed, a peer dropped, the port changed), and a stop with SaveConfig that
# writes the running state back into the file, then a start from the saved file.
. "$(dirname "$0")/lib.sh"
export WG_ENDPOINT_RESOLUTION_RETRIES=infinity

start() { /usr/bin/wg-quick up "$IF" 2>>"$QLOG"; rc "ExecStart" $?; }
stop() { /usr/bin/wg-quick down "$IF" 2>>"$QLOG"; rc "ExecStop" $?; }
reload() { /bin/bash -c "exec /usr/bin/wg syncconf $IF <(exec /usr/bin/wg-quick strip $IF 2>>$QLOG)"; rc "ExecReload ($1)" $?; }

key() {
	wg genkey >"keys/$1.key"
	wg pubkey <"keys/$1.key" >"keys/$1.pub"
	cat "keys/$1.pub"
}

show() {
	say "listen-port $(wg show "$IF" listen-port) fwmark $(wg show "$IF" fwmark)"
	wg show "$IF" allowed-ips | while IFS=$'\t' read -r k ips; do say "allowed $k $(sorted_list "$ips" ' ')"; done | rows
	wg show "$IF" endpoints | rows
	wg show "$IF" preshared-keys | rows
}

case $1 in
up)
	wg genkey >keys/server.key
	wg pubkey <keys/server.key >keys/server.pub
	wg genpsk >keys/phone.psk
	{
		printf '[Interface]\nAddress = 10.77.0.1/24, fd77::1/64\nListenPort = %s\nPrivateKey = %s\n\n' "$PORT" "$(cat keys/server.key)"
		printf '[Peer]\n# the phone\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.77.0.2/32, fd77::2/128\n\n' "$(key phone)" "$(cat keys/phone.psk)"
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.78.0.0/16\nEndpoint = site.example:51900\nPersistentKeepalive = 30\n' "$(key site)"
	} >"$CONF"
	start
	show
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.77.0.2/24\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.77.0.0/24\nEndpoint = %s:%s\nPersistentKeepalive = 25\n' \
		"$(cat keys/phone.key)" "$PHONE_PORT" "$(cat keys/server.pub)" "$(cat keys/phone.psk)" "$SERVER" "$PORT" >clients/phone.conf
	echo 10.77.0.1 >clients/phone.ping
	;;
live)
	show
	printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.79.0.0/16, fd79::/48\n' "$(key office)" >>"$CONF"
	reload "a peer added"
	show
	sed -i 's|^AllowedIPs = 10.78.0.0/16$|AllowedIPs = 10.78.0.0/16, 10.178.0.0/16|' "$CONF"
	reload "allowed IPs changed"
	show
	# A runtime change, then a stop with SaveConfig: the file gets the running state.
	sed -i 's|^\[Interface\]$|&\nSaveConfig = true|' "$CONF"
	wg set "$IF" peer "$(cat keys/office.pub)" allowed-ips 10.79.0.0/16,10.80.0.0/16 persistent-keepalive 15
	rc "wg set (runtime change)" $?
	stop
	start
	show
	# The port changed and the site peer dropped.
	sed -i "s|^ListenPort = $PORT\$|ListenPort = 51830|" "$CONF"
	awk -v site="$(cat keys/site.pub)" -v RS= -v ORS='\n\n' 'index($0, site) == 0' "$CONF" >"$CONF.new" && cat "$CONF.new" >"$CONF" && rm "$CONF.new"
	reload "port changed, site dropped"
	show
	;;
down)
	stop
	;;
esac

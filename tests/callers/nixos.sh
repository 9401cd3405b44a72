#!/usr/bin/env bash
# NixOS (nixos/modules/services/networking/wg-quick.nix and wireguard.nix).
# wg-quick.nix: a generated file in the store, brought up by path
# (`wg-quick up /nix/store/.../IF.conf`, down by the same path), with a lower-case
# `[interface]`, no PrivateKey, a PreUp that makes the key file once
# (`(umask 077; wg genkey > FILE)`), and PostUps `wg set IF private-key <(cat FILE)` and
# `wg set IF peer KEY preshared-key <(cat FILE)`. wireguard.nix: a link of its own
# programmed with `wg set IF private-key FILE listen-port N fwmark M` and
# `wg set IF peer KEY preshared-key FILE endpoint HOST:PORT persistent-keepalive N
# allowed-ips A,B` (repeated to refresh the endpoint's DNS), `wg set IF peer KEY remove`,
# with WG_ENDPOINT_RESOLUTION_RETRIES=infinity.
. "$(dirname "$0")/lib.sh"
IF2=nx${IF#wg}
STORE=$W/nix/store/0123456789abcdef-wg-quick-$IF
FILE=$STORE/$IF.conf

show() {
	say "$1 private-key $(wg show "$1" private-key) public-key $(wg show "$1" public-key) port $(wg show "$1" listen-port) fwmark $(wg show "$1" fwmark)"
	wg show "$1" preshared-keys | rows
	wg show "$1" endpoints | rows
	wg show "$1" persistent-keepalive | rows
	wg show "$1" allowed-ips | while IFS=$'\t' read -r k ips; do say "allowed $k $(sorted_list "$ips" ' ')"; done | rows
}

case $1 in
up)
	mkdir -p "$STORE"
	for k in phone peer2; do
		wg genkey >"keys/$k.key"
		wg pubkey <"keys/$k.key" >"keys/$k.pub"
	done
	wg genpsk >keys/phone.psk
	cat >"$FILE" <<NIX
[interface]
Address = 10.100.0.1/24
Address = fd00:100::1/64
ListenPort = $PORT
PreUp = mkdir -p '$W/keys'
PreUp = if [ ! -f '$W/keys/nix.key' ]; then (umask 077; wg genkey > '$W/keys/nix.key'); fi
PostUp = wg set $IF private-key <(cat '$W/keys/nix.key')
PostUp = wg set $IF peer $(cat keys/phone.pub) preshared-key <(cat '$W/keys/phone.psk')

[Peer]
PublicKey = $(cat keys/phone.pub)
AllowedIPs = 10.100.0.2/32, fd00:100::2/128
NIX
	wg-quick up "$FILE" 2>>"$QLOG"
	rc "wg-quick up PATH" $?
	wg pubkey <keys/nix.key >keys/nix.pub
	show "$IF"
	printf '[Interface]\nPrivateKey = %s\nAddress = 10.100.0.2/24\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.100.0.0/24\nEndpoint = %s:%s\nPersistentKeepalive = 25\n' \
		"$(cat keys/phone.key)" "$PHONE_PORT" "$(cat keys/nix.pub)" "$(cat keys/phone.psk)" "$SERVER" "$PORT" >clients/phone.conf
	echo 10.100.0.1 >clients/phone.ping
	;;
live)
	show "$IF"
	# wireguard.nix's own link (`ip link add` needs the kernel module; the userspace
	# implementation stands in).
	export WG_ENDPOINT_RESOLUTION_RETRIES=infinity
	wireguard-go "$IF2" >/dev/null 2>&1
	rc "wireguard-go (the link)" $?
	wg genkey >keys/nix2.key
	wg genpsk >keys/peer2.psk
	wg set "$IF2" private-key "$W/keys/nix2.key" listen-port 51830 fwmark 0x1234
	rc "wg set private-key listen-port fwmark" $?
	ip address add 10.101.0.1/24 dev "$IF2"
	ip link set up dev "$IF2"
	for refresh in 1 2; do
		wg set "$IF2" peer "$(cat keys/peer2.pub)" preshared-key "$W/keys/peer2.psk" endpoint localhost:51831 persistent-keepalive 25 allowed-ips 10.101.0.2/32,fd01::2/128
		rc "wg set peer (refresh $refresh)" $?
	done
	show "$IF2"
	wg set "$IF2" peer "$(cat keys/peer2.pub)" remove
	rc "wg set peer remove" $?
	show "$IF2"
	ip link del dev "$IF2"
	;;
down)
	wg-quick down "$FILE" 2>>"$QLOG"
	rc "wg-quick down PATH" $?
	;;
esac

# bash completion for wgq. Generated from src/frontend/cli.rs; do not edit.
_wgq() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	if [[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=( $(compgen -W "up down save strip check reload reresolve show showconf genkey genpsk pubkey wg-quick wg server peer run health container p2p web web-admin qr help" -- "$cur") )
		return
	fi
	case ${COMP_WORDS[1]} in
	up)
		COMPREPLY=( $(compgen -W "--dry-run --kill-switch --allow-lan $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	down)
		COMPREPLY=( $(compgen -W "--dry-run --kill-switch $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	save)
		COMPREPLY=( $(compgen -W "$(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	strip)
		COMPREPLY=( $(compgen -W "$(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	check)
		COMPREPLY=( $(compgen -W "$(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	reload)
		COMPREPLY=( $(compgen -W "--dry-run $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	reresolve)
		COMPREPLY=( $(compgen -W "--stale-after --dry-run $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	show)
		COMPREPLY=( $(compgen -W "--json all $(ls /sys/class/net 2>/dev/null)" -- "$cur") )
		;;
	showconf)
		COMPREPLY=( $(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur") )
		;;
	genkey)
		COMPREPLY=( $(compgen -W "" -- "$cur") )
		;;
	genpsk)
		COMPREPLY=( $(compgen -W "" -- "$cur") )
		;;
	pubkey)
		COMPREPLY=( $(compgen -W "" -- "$cur") )
		;;
	wg-quick)
		COMPREPLY=( $(compgen -W "" -- "$cur") )
		;;
	wg)
		COMPREPLY=( $(compgen -W "" -- "$cur") )
		;;
	server)
		if [[ $COMP_CWORD -eq 2 ]]; then
			COMPREPLY=( $(compgen -W "init" -- "$cur") )
			return
		fi
		case ${COMP_WORDS[2]} in
		init)
			COMPREPLY=( $(compgen -W "--address --port --endpoint --out-dev --no-nat --nat --dns --client-allowed-ips --keepalive --mtu --no-forwarding --sysctl-dir --config-dir --force --dry-run $(ls /sys/class/net 2>/dev/null)" -- "$cur") )
			;;
		esac
		;;
	peer)
		if [[ $COMP_CWORD -eq 2 ]]; then
			COMPREPLY=( $(compgen -W "add list show remove disable enable rename set rotate expire import" -- "$cur") )
			return
		fi
		case ${COMP_WORDS[2]} in
		add)
			COMPREPLY=( $(compgen -W "--ip --allowed-ips --route --dns --keepalive --mtu --endpoint --expires --note --display-name --p2p --pubkey --no-psk --no-store --qr --dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		list)
			COMPREPLY=( $(compgen -W "--json --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		show)
			COMPREPLY=( $(compgen -W "--qr --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		remove)
			COMPREPLY=( $(compgen -W "--dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		disable)
			COMPREPLY=( $(compgen -W "--dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		enable)
			COMPREPLY=( $(compgen -W "--dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		rename)
			COMPREPLY=( $(compgen -W "--dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		set)
			COMPREPLY=( $(compgen -W "--ip --allowed-ips --route --dns --keepalive --mtu --expires --note --display-name --p2p --no-p2p --dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		rotate)
			COMPREPLY=( $(compgen -W "--pubkey --qr --dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		expire)
			COMPREPLY=( $(compgen -W "--dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		import)
			COMPREPLY=( $(compgen -W "--dry-run --no-apply --force --config-dir $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		esac
		;;
	run)
		COMPREPLY=( $(compgen -W "--web $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	health)
		COMPREPLY=( $(compgen -W "--handshake-within $(ls /sys/class/net 2>/dev/null)" -- "$cur") )
		;;
	container)
		COMPREPLY=( $(compgen -W "--config-root" -- "$cur") )
		;;
	p2p)
		if [[ $COMP_CWORD -eq 2 ]]; then
			COMPREPLY=( $(compgen -W "serve connect status" -- "$cur") )
			return
		fi
		case ${COMP_WORDS[2]} in
		serve)
			COMPREPLY=( $(compgen -W "--port $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		connect)
			COMPREPLY=( $(compgen -W "--hub $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		status)
			COMPREPLY=( $(compgen -W "$(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		esac
		;;
	web)
		COMPREPLY=( $(compgen -W "--listen --config-dir --state-dir --insecure --tls-cert --tls-key --base-path --trusted-proxy --no-apply $(ls /sys/class/net 2>/dev/null)" -- "$cur") )
		;;
	web-admin)
		if [[ $COMP_CWORD -eq 2 ]]; then
			COMPREPLY=( $(compgen -W "hash-password token totp" -- "$cur") )
			return
		fi
		case ${COMP_WORDS[2]} in
		hash-password)
			COMPREPLY=( $(compgen -W "--save --state-dir" -- "$cur") )
			;;
		token)
			COMPREPLY=( $(compgen -W "add list revoke --read-only --state-dir" -- "$cur") )
			;;
		totp)
			COMPREPLY=( $(compgen -W "enable disable --state-dir" -- "$cur") )
			;;
		esac
		;;
	qr)
		COMPREPLY=( $(compgen -W "" -- "$cur") )
		;;
	esac
}
complete -F _wgq wgq

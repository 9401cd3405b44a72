# bash completion for wg (wgq). Generated from src/frontend/docs.rs; do not edit.
_wg() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	if [[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=( $(compgen -W "show showconf set setconf addconf syncconf genkey genpsk pubkey help --help --version" -- "$cur") )
		return
	fi
	case ${COMP_WORDS[1]} in
	show)
		if [[ $COMP_CWORD -eq 2 ]]; then
			COMPREPLY=( $(compgen -W "all interfaces $(grep -lx DEVTYPE=wireguard /sys/class/net/*/uevent 2>/dev/null | cut -d/ -f5; cd /var/run/wireguard 2>/dev/null && ls *.sock 2>/dev/null | sed 's/\.sock$//')" -- "$cur") )
		elif [[ $COMP_CWORD -eq 3 && $prev != interfaces ]]; then
			COMPREPLY=( $(compgen -W "public-key private-key listen-port fwmark peers preshared-keys endpoints allowed-ips latest-handshakes transfer persistent-keepalive dump" -- "$cur") )
		fi
		;;
	showconf|set|setconf|addconf|syncconf)
		if [[ $COMP_CWORD -eq 2 ]]; then
			COMPREPLY=( $(compgen -W "$(grep -lx DEVTYPE=wireguard /sys/class/net/*/uevent 2>/dev/null | cut -d/ -f5; cd /var/run/wireguard 2>/dev/null && ls *.sock 2>/dev/null | sed 's/\.sock$//')" -- "$cur") )
		elif [[ $COMP_CWORD -eq 3 && ${COMP_WORDS[1]} == @(setconf|addconf|syncconf) ]]; then
			COMPREPLY=( $(compgen -f -- "$cur") )
		elif [[ ${COMP_WORDS[1]} == set ]]; then
			case $prev in
			private-key|preshared-key) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
			peer|listen-port|fwmark|endpoint|persistent-keepalive|allowed-ips) ;;
			*) COMPREPLY=( $(compgen -W "listen-port fwmark private-key remove preshared-key endpoint persistent-keepalive allowed-ips peer" -- "$cur") ) ;;
			esac
		fi
		;;
	esac
}
complete -F _wg wg

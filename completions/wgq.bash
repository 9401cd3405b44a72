# bash completion for wgq. Generated from src/frontend/cli.rs; do not edit.
_wgq() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	if [[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=( $(compgen -W "up down save strip check reload show showconf genkey genpsk pubkey wg-quick wg help" -- "$cur") )
		return
	fi
	case ${COMP_WORDS[1]} in
	up)
		COMPREPLY=( $(compgen -W "--dry-run $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
		COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
		;;
	down)
		COMPREPLY=( $(compgen -W "--dry-run $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
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
	esac
}
complete -F _wgq wgq

# bash completion for wg-quick (wgq). Generated from src/frontend/docs.rs; do not edit.
_wg_quick() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	if [[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=( $(compgen -W "up down save strip help" -- "$cur") )
	elif [[ $COMP_CWORD -eq 2 ]]; then
		case ${COMP_WORDS[1]} in
		up|down|save|strip)
			COMPREPLY=( $(compgen -W "$(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\.conf$//')" -- "$cur") )
			COMPREPLY+=( $(compgen -f -X '!*.conf' -- "$cur") )
			;;
		esac
	fi
}
complete -F _wg_quick wg-quick

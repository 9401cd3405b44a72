# fish completion for wg-quick (wgq). Generated from src/frontend/docs.rs; do not edit.
set -l wg_quick_commands up down save strip
complete -c wg-quick -f -n "not __fish_seen_subcommand_from $wg_quick_commands" -a up -d 'Create and configure the interface; everything is rolled back if any step fails'
complete -c wg-quick -f -n "not __fish_seen_subcommand_from $wg_quick_commands" -a down -d 'Remove the interface and everything up added for it'
complete -c wg-quick -f -n "not __fish_seen_subcommand_from $wg_quick_commands" -a save -d 'Write the running configuration of the interface back to its file'
complete -c wg-quick -f -n "not __fish_seen_subcommand_from $wg_quick_commands" -a strip -d 'Print the configuration without wg-quick\'s keys, as wg(8) reads it'
complete -c wg-quick -n "__fish_seen_subcommand_from $wg_quick_commands" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"

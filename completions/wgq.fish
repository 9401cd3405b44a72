# fish completion for wgq. Generated from src/frontend/cli.rs; do not edit.
set -l wgq_commands up down save strip check reload show showconf genkey genpsk pubkey wg-quick wg
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a up -d 'Create and configure the interface; everything is rolled back if any step fails'
complete -c wgq -n "__fish_seen_subcommand_from up" -l dry-run -d 'Print the plan instead of applying it'
complete -c wgq -n "__fish_seen_subcommand_from up" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a down -d 'Remove the interface and everything up added for it'
complete -c wgq -n "__fish_seen_subcommand_from down" -l dry-run -d 'Print the plan instead of applying it'
complete -c wgq -n "__fish_seen_subcommand_from down" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a save -d 'Write the running configuration of the interface back to its file'
complete -c wgq -n "__fish_seen_subcommand_from save" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a strip -d 'Print the configuration without wg-quick\'s keys, as wg(8) reads it'
complete -c wgq -n "__fish_seen_subcommand_from strip" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a check -d 'Validate the file and print every error and warning, changing nothing'
complete -c wgq -n "__fish_seen_subcommand_from check" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a reload -d 'Bring the running interface to the file without recreating it'
complete -c wgq -n "__fish_seen_subcommand_from reload" -l dry-run -d 'Print the plan instead of applying it'
complete -c wgq -n "__fish_seen_subcommand_from reload" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a show -d 'Show the state of WireGuard interfaces'
complete -c wgq -n "__fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON'
complete -c wgq -f -n "__fish_seen_subcommand_from show" -a "(__fish_print_interfaces)"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a showconf -d 'Print the running configuration of the interface in config-file form'
complete -c wgq -f -n "__fish_seen_subcommand_from showconf" -a "(__fish_print_interfaces)"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a genkey -d 'Print a new private key'
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a genpsk -d 'Print a new preshared key'
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a pubkey -d 'Read a private key on stdin and print its public key'
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a wg-quick -d 'Run ARGS exactly as wg-quick would: its grammar, usage and exit codes'
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a wg -d 'Run ARGS exactly as wg(8) would: show, showconf, set, setconf, addconf, syncconf, genkey, genpsk, pubkey'

# fish completion for wgq. Generated from src/cli.rs; do not edit.
set -l wgq_commands up down save strip check reload show showconf genkey genpsk pubkey
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a up -d 'create and configure the interface; everything is rolled back if any step fails'
complete -c wgq -n "__fish_seen_subcommand_from up" -l dry-run -d 'print the plan instead of applying it'
complete -c wgq -n "__fish_seen_subcommand_from up" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a down -d 'remove the interface and everything up added for it'
complete -c wgq -n "__fish_seen_subcommand_from down" -l dry-run -d 'print the plan instead of applying it'
complete -c wgq -n "__fish_seen_subcommand_from down" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a save -d 'write the running configuration of the interface back to its file'
complete -c wgq -n "__fish_seen_subcommand_from save" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a strip -d 'print the configuration without wg-quick\'s keys, as wg(8) reads it'
complete -c wgq -n "__fish_seen_subcommand_from strip" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a check -d 'validate the file and print every error and warning, changing nothing'
complete -c wgq -n "__fish_seen_subcommand_from check" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a reload -d 'bring the running interface to the file without recreating it'
complete -c wgq -n "__fish_seen_subcommand_from reload" -l dry-run -d 'print the plan instead of applying it'
complete -c wgq -n "__fish_seen_subcommand_from reload" -F -a "(path basename /etc/wireguard/*.conf | string replace -r '\.conf\$' '')"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a show -d 'show the state of WireGuard interfaces'
complete -c wgq -n "__fish_seen_subcommand_from show" -l json -d 'print machine-readable JSON'
complete -c wgq -f -n "__fish_seen_subcommand_from show" -a "(__fish_print_interfaces)"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a showconf -d 'print the running configuration of the interface in config-file form'
complete -c wgq -f -n "__fish_seen_subcommand_from showconf" -a "(__fish_print_interfaces)"
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a genkey -d 'print a new private key'
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a genpsk -d 'print a new preshared key'
complete -c wgq -f -n "not __fish_seen_subcommand_from $wgq_commands" -a pubkey -d 'read a private key on stdin and print its public key'

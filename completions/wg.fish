# fish completion for wg (wgq). Generated from src/frontend/docs.rs; do not edit.
set -l wg_commands show showconf set setconf addconf syncconf genkey genpsk pubkey
function __wgq_wg_interfaces
	for f in /sys/class/net/*/uevent
		grep -qx DEVTYPE=wireguard $f 2>/dev/null; and basename (dirname $f)
	end
	for f in /var/run/wireguard/*.sock
		basename $f .sock
	end
end
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a show -d 'Print interfaces and their peers'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a showconf -d 'Print the interface\'s configuration as a configuration file'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a set -d 'Change settings of the interface, and add, change or remove peers'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a setconf -d 'Replace the interface\'s configuration with a configuration file'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a addconf -d 'Add a configuration file\'s settings and peers to the interface'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a syncconf -d 'Bring the interface to a configuration file, changing only what differs'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a genkey -d 'Print a new random private key'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a genpsk -d 'Print a new random preshared key'
complete -c wg -f -n "not __fish_seen_subcommand_from $wg_commands" -a pubkey -d 'Print the public key of a private key read on standard input'
complete -c wg -f -n "__fish_seen_subcommand_from show showconf set setconf addconf syncconf; and test (count (commandline -opc)) -eq 2" -a "(__wgq_wg_interfaces)"
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 2" -a "all interfaces"
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a public-key -d 'the interface\'s public key'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a private-key -d 'the interface\'s private key'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a listen-port -d 'the UDP port it receives on'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a fwmark -d 'its firewall mark, or off'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a peers -d 'the public key of each peer'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a preshared-keys -d 'each peer\'s public key and preshared key, or (none)'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a endpoints -d 'each peer\'s public key and endpoint, or (none)'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a allowed-ips -d 'each peer\'s public key and allowed IP prefixes, separated by spaces, or (none)'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a latest-handshakes -d 'each peer\'s public key and the time of its latest handshake in seconds since 1970, 0 for none'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a transfer -d 'each peer\'s public key, bytes received and bytes sent'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a persistent-keepalive -d 'each peer\'s public key and keepalive interval in seconds, or off'
complete -c wg -f -n "__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3" -a dump -d 'everything: a line for the interface (private key, public key, listen port, fwmark), then one per peer (public key, preshared key, endpoint, allowed IPs separated by commas, latest handshake, bytes received, bytes sent, persistent keepalive)'
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a listen-port
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a fwmark
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a private-key
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a remove
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a preshared-key
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a endpoint
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a persistent-keepalive
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a allowed-ips
complete -c wg -f -n "__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3" -a peer

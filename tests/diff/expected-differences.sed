# Trace differences between Debian's 2021 wg-quick and wgq that come from wgq following
# upstream wg-quick (reference §8) or from wgq not running the tools it names. Applied to
# both traces before comparing them as multisets (order differences, such as upstream
# adding the policy rules before the default route, or PreUp after link creation, are
# covered by the multiset comparison).
#
# upstream a2dbc33: `ip link add dev <if>` (so names like `type` are not keywords)
s/^\[#\] ip link add ([^ ]+) type wireguard$/[#] ip link add dev \1 type wireguard/
# upstream 0b7d982: addconf instead of setconf (settings made by PreUp survive)
s/^\[#\] wg setconf /[#] wg addconf /
# the process-substitution descriptor number is arbitrary
s|/dev/fd/[0-9]+|/dev/fd/N|g

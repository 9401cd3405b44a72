# Turns a private copy of Debian's 2021 wg-quick into upstream's order for the two changes
# the PreUp scenarios depend on (reference §8.1): e6888dd runs PreUp after the link is
# created; 0b7d982 programs the device with `wg addconf`, so what PreUp set stays.
/^\texecute_hooks "\$\{PRE_UP\[@\]\}"$/{h;d}
/^\tadd_if$/G
s/wg setconf /wg addconf /

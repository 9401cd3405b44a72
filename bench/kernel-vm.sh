#!/usr/bin/env bash
# Kernel-path benchmark: boots the VM (scripts/vm-test) and runs tests/vm/bigserver.sh with
# the release binary and N peers (two allowed IPs each): wgq up next to `ip link add` +
# `wg setconf` + `ip -batch` in the same VM run, with wgq's phase timings and peak RSS.
#   bench/kernel-vm.sh [N]        (default 5000; software emulation, so expect minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
WGQ_VM_TIMEOUT=${WGQ_VM_TIMEOUT:-3600} WGQ=$PWD/target/release/wgq WGQ_VM_PEERS=${1:-5000} scripts/vm-test tests/vm/bigserver.sh

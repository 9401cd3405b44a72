//! Advisory checks for `wgq check` (warnings beyond what the parser reports).

//! WireGuard generic-netlink messages: building, splitting and parsing (pure).

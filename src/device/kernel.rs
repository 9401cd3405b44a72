//! Kernel backend: WG_CMD_SET_DEVICE / WG_CMD_GET_DEVICE over generic netlink.

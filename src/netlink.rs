//! A small synchronous netlink request loop shared by rtnetlink and generic netlink.

//! Userspace backend: the cross-platform UAPI protocol over /var/run/wireguard/<if>.sock.

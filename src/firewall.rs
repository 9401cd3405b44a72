//! firewall (temporary stubs; replaced by the pieces branch)
pub fn nft_up_script(_i: &str, _v6: bool, _a: &[std::net::IpAddr], _m: u32) -> String { todo!() }
pub fn iptables_up_script(_i: &str, _v6: bool, _a: &[std::net::IpAddr], _m: u32) -> String { todo!() }
pub fn nft_down_script(_i: &str, _l: &str) -> Option<String> { todo!() }
pub fn iptables_down_script(_i: &str, _l: &str) -> Option<String> { todo!() }

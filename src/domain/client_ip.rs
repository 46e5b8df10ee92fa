//! Which address a request really comes from. The TCP peer, unless the peer
//! is a trusted proxy: then `X-Forwarded-For` is read right to left, skipping
//! trusted proxies, and the first address that is not one is the client.
//! Without trusted proxies the header is ignored, since anyone can send it.

use std::net::IpAddr;

use crate::domain::ip_allowlist::IpAllowlist;

/// Whether `addr` is one of the trusted proxies. An empty list trusts no one
/// (an empty allowlist elsewhere means "any address"; here it means none).
pub fn is_trusted(addr: IpAddr, trusted: &IpAllowlist) -> bool {
    !trusted.is_unrestricted() && trusted.allows(addr)
}

pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &IpAllowlist) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.allows(ip) {
                    break;
                }
            }
            // A garbled hop: stop at the last address we could trust.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_empty_list_trusts_no_one() {
        let none = IpAllowlist::default();
        assert!(!is_trusted(ip("127.0.0.1"), &none));
        let one = IpAllowlist::parse("127.0.0.1").unwrap();
        assert!(is_trusted(ip("127.0.0.1"), &one));
        assert!(is_trusted(ip("::ffff:127.0.0.1"), &one));
        assert!(!is_trusted(ip("127.0.0.2"), &one));
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = IpAllowlist::default();
        assert_eq!(
            resolve(ip("198.51.100.1"), Some("10.0.0.1"), &none),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let trusted = IpAllowlist::parse("127.0.0.1").unwrap();
        assert_eq!(
            resolve(ip("198.51.100.1"), Some("10.0.0.1"), &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_proxy_chain_is_read_right_to_left() {
        let trusted = IpAllowlist::parse("127.0.0.1\n10.0.0.0/8").unwrap();
        let chain = Some("203.0.113.7, 198.51.100.2, 10.1.1.1");
        // The client's own claim (203.0.113.7) is not trusted: 198.51.100.2 is the last untrusted hop.
        assert_eq!(
            resolve(ip("127.0.0.1"), chain, &trusted),
            ip("198.51.100.2")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), Some("203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(resolve(ip("127.0.0.1"), None, &trusted), ip("127.0.0.1"));
        assert_eq!(
            resolve(ip("127.0.0.1"), Some("garbage, 10.1.1.1"), &trusted),
            ip("10.1.1.1")
        );
    }
}

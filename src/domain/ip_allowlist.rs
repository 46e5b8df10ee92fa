//! Trusted IP addresses and CIDR ranges, one per line, as an administrator types them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Upper bound on entries per key; a longer list is almost certainly a paste accident.
pub const MAX_ENTRIES: usize = 100;

/// A parsed allowlist. Empty means the key may be used from any address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowlist {
    // A boxed slice: one word smaller than a Vec, and this is held per key in memory.
    nets: Box<[IpNet]>,
}

/// One line that could not be read, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub text: String,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line {} ({}): {}", self.line, self.text, self.message)
    }
}

impl IpAllowlist {
    /// Parses every line and reports every bad one, not just the first.
    /// Blank lines are ignored; duplicates are kept once.
    pub fn parse(input: &str) -> Result<Self, Vec<LineError>> {
        let mut nets: Vec<IpNet> = Vec::new();
        let mut errors = Vec::new();
        for (index, raw) in input.lines().enumerate() {
            let text = raw.trim();
            if text.is_empty() {
                continue;
            }
            match parse_entry(text) {
                Ok(net) if !nets.contains(&net) => nets.push(net),
                Ok(_) => {}
                Err(message) => errors.push(LineError {
                    line: index + 1,
                    text: shorten(text),
                    message,
                }),
            }
        }
        if nets.len() > MAX_ENTRIES {
            errors.push(LineError {
                line: 0,
                text: String::new(),
                message: format!(
                    "At most {MAX_ENTRIES} addresses or ranges can be authorized per key."
                ),
            });
        }
        if errors.is_empty() {
            Ok(IpAllowlist { nets: nets.into() })
        } else {
            Err(errors)
        }
    }

    /// Reads the stored form (canonical entries, one per line). None if a
    /// line cannot be read: skipping it could turn a restricted key into one
    /// usable from anywhere, so callers refuse the key instead.
    pub fn from_stored(stored: &str) -> Option<Self> {
        let nets = stored
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_entry(l.trim()).ok())
            .collect::<Option<Box<[IpNet]>>>()?;
        Some(IpAllowlist { nets })
    }

    pub fn to_stored(&self) -> String {
        self.entries().join("\n")
    }

    pub fn entries(&self) -> Vec<String> {
        self.nets.iter().map(display_net).collect()
    }

    pub fn is_unrestricted(&self) -> bool {
        self.nets.is_empty()
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.is_unrestricted() || self.nets.iter().any(|net| net.contains(&ip))
    }

    /// A short phrase for the key list.
    pub fn summary(&self) -> String {
        match &*self.nets {
            [] => "Any address".to_owned(),
            [one] => display_net(one),
            [first, rest @ ..] => format!("{} and {} more", display_net(first), rest.len()),
        }
    }
}

fn parse_entry(text: &str) -> Result<IpNet, String> {
    if let Ok(ip) = IpAddr::from_str(text) {
        return Ok(IpNet::from(canonical_ip(ip)));
    }
    let Some((addr, prefix)) = text.split_once('/') else {
        return Err(
            "is not an IPv4 or IPv6 address, nor a CIDR range such as 203.0.113.0/24.".into(),
        );
    };
    let ip = IpAddr::from_str(addr.trim())
        .map_err(|_| format!("“{}” is not an IPv4 or IPv6 address.", shorten(addr)))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = prefix
        .trim()
        .parse()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| format!("the prefix length must be a number from 0 to {max}."))?;
    // An IPv4-mapped range (::ffff:a.b.c.d/p) is the IPv4 range it carries, as
    // a single mapped address is: peers are matched in their IPv4 form.
    let mapped = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    };
    let (ip, prefix) = match mapped {
        Some(_) if prefix < MAPPED_PREFIX => {
            return Err(format!(
                "an IPv4-mapped range needs a prefix of {MAPPED_PREFIX} or more \
                 (::ffff:10.0.0.0/104 is 10.0.0.0/8); write IPv4 ranges in IPv4 form."
            ));
        }
        Some(v4) => (IpAddr::V4(v4), prefix - MAPPED_PREFIX),
        None => (ip, prefix),
    };
    let net = IpNet::new(ip, prefix).map_err(|_| "is not a valid range.".to_owned())?;
    if net.network() != ip {
        return Err(format!(
            "has bits set after the prefix; did you mean {}?",
            display_net(&net.trunc())
        ));
    }
    Ok(net)
}

/// The IPv4-mapped block is ::ffff:0:0/96; its last 32 bits are the IPv4 address.
const MAPPED_PREFIX: u8 = 96;

/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as the IPv4 address they carry.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Single addresses read as addresses, ranges as CIDR.
fn display_net(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_empty_list_allows_every_address() {
        let list = IpAllowlist::parse("\n  \n").unwrap();
        assert!(list.is_unrestricted());
        assert!(list.allows(ip("198.51.100.7")));
        assert_eq!(list.summary(), "Any address");
    }

    #[test]
    fn addresses_and_ranges_of_both_families_match() {
        let list = IpAllowlist::parse("203.0.113.0/24\n2001:db8::/32\n198.51.100.7\n::1").unwrap();
        assert!(list.allows(ip("203.0.113.255")));
        assert!(!list.allows(ip("203.0.114.0")));
        assert!(list.allows(ip("2001:db8:ffff::1")));
        assert!(!list.allows(ip("2001:db9::1")));
        assert!(list.allows(ip("198.51.100.7")));
        assert!(!list.allows(ip("198.51.100.8")));
        assert!(list.allows(ip("::1")));
        assert_eq!(list.summary(), "203.0.113.0/24 and 3 more");
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_match_ipv4_ranges() {
        let list = IpAllowlist::parse("10.0.0.0/8").unwrap();
        assert!(list.allows(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn ipv4_mapped_ranges_are_their_ipv4_ranges() {
        let list = IpAllowlist::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(list.entries(), vec!["10.0.0.0/8"]);
        assert!(list.allows(ip("10.1.2.3")));
        assert!(list.allows(ip("::ffff:10.1.2.3")));
        assert!(!list.allows(ip("11.0.0.1")));
        assert!(!list.allows(ip("::ffff:11.0.0.1")));
        let all_v4 = IpAllowlist::parse("::ffff:0.0.0.0/96").unwrap();
        assert_eq!(all_v4.entries(), vec!["0.0.0.0/0"]);
        let one = IpAllowlist::parse("::ffff:192.0.2.1/128").unwrap();
        assert_eq!(one.entries(), vec!["192.0.2.1"]);
    }

    #[test]
    fn ranges_saved_in_mapped_form_match_once_read_back() {
        let stored = IpAllowlist::from_stored("::ffff:10.0.0.0/104").unwrap();
        assert!(stored.allows(ip("10.1.2.3")));
        assert!(stored.allows(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn mapped_ranges_wider_than_the_mapped_block_are_refused_with_a_reason() {
        let errors = IpAllowlist::parse(
            "10.0.0.0/8
::ffff:0.0.0.0/95
::ffff:10.0.0.1/104",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 2);
        assert_eq!(
            errors[0].message,
            "an IPv4-mapped range needs a prefix of 96 or more (::ffff:10.0.0.0/104 is 10.0.0.0/8); \
             write IPv4 ranges in IPv4 form."
        );
        assert_eq!(errors[1].line, 3);
        assert_eq!(
            errors[1].message,
            "has bits set after the prefix; did you mean 10.0.0.0/8?"
        );
    }

    #[test]
    fn each_family_s_everything_range_covers_that_family_only() {
        let v4 = IpAllowlist::parse("0.0.0.0/0").unwrap();
        assert!(v4.allows(ip("203.0.113.9")));
        assert!(v4.allows(ip("::ffff:203.0.113.9")));
        assert!(!v4.allows(ip("2001:db8::1")));
        let v6 = IpAllowlist::parse("::/0").unwrap();
        assert!(v6.allows(ip("2001:db8::1")));
        assert!(!v6.allows(ip("203.0.113.9")));
        assert!(!v6.allows(ip("::ffff:203.0.113.9")));
    }

    #[test]
    fn every_bad_line_gets_its_own_message_with_its_line_number() {
        let errors =
            IpAllowlist::parse("10.0.0.0/8\nnot-an-ip\n10.0.0.0/33\n\n300.1.1.1\n10.0.0.1/8")
                .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5, 6]);
        assert!(errors[1].message.contains("0 to 32"));
        assert!(errors[3].message.contains("did you mean 10.0.0.0/8"));
    }

    #[test]
    fn whitespace_and_duplicates_are_tolerated() {
        let list = IpAllowlist::parse("  10.0.0.0/8 \r\n10.0.0.0/8\n").unwrap();
        assert_eq!(list.entries(), vec!["10.0.0.0/8"]);
    }

    #[test]
    fn the_stored_form_round_trips() {
        let list = IpAllowlist::parse("10.0.0.0/8\n2001:db8::/32\n192.0.2.1").unwrap();
        assert_eq!(
            IpAllowlist::from_stored(&list.to_stored()),
            Some(list.clone())
        );
        assert_eq!(list.to_stored(), "10.0.0.0/8\n2001:db8::/32\n192.0.2.1");
    }

    #[test]
    fn too_many_entries_are_refused() {
        let input: String = (0..=MAX_ENTRIES)
            .map(|i| format!("10.0.{}.{}\n", i / 256, i % 256))
            .collect();
        assert!(IpAllowlist::parse(&input).is_err());
    }

    #[test]
    fn long_garbage_is_shortened_in_messages() {
        let errors = IpAllowlist::parse(&"x".repeat(5000)).unwrap_err();
        assert!(errors[0].text.chars().count() <= 61);
    }

    #[test]
    fn a_stored_list_with_an_unreadable_line_is_not_read_as_a_shorter_one() {
        assert_eq!(IpAllowlist::from_stored(""), Some(IpAllowlist::default()));
        assert_eq!(IpAllowlist::from_stored("10.0.0.0/8\nnot an address"), None);
        assert_eq!(IpAllowlist::from_stored("not an address"), None);
        assert_eq!(
            IpAllowlist::from_stored("10.0.0.0/8\n\n2001:db8::/32")
                .unwrap()
                .entries(),
            ["10.0.0.0/8", "2001:db8::/32"]
        );
    }
}

//! Random identifiers and tokens drawn from the operating system's generator.

use rand::TryRng;
use rand::rngs::SysRng;

pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the operating system. Failing to read it is not recoverable.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SysRng
        .try_fill_bytes(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// A string of `len` base62 characters, each uniformly distributed
/// (rejection sampling, so no modulo bias).
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<64>() {
            // 248 = 4 * 62: values at or above it would bias the low characters.
            if byte < 248 && out.len() < len {
                out.push(BASE62[(byte % 62) as usize] as char);
            }
        }
    }
    out
}

/// A 256-bit token for one-time links, sessions and form tokens, hex encoded.
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// Whether `s` has the shape of a `random_token()`.
pub fn is_token(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Encodes `value` as exactly `width` base62 digits, most significant first.
pub fn encode_base62_fixed(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(digits).expect("base62 digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_strings_have_the_requested_length_and_alphabet() {
        for len in [1, 12, 32, 100] {
            let s = random_base62(len);
            assert_eq!(s.len(), len);
            assert!(is_base62(&s));
        }
    }

    #[test]
    fn secrets_use_the_whole_alphabet_close_to_uniformly() {
        // 620,000 characters: each of the 62 is expected 10,000 times, with a
        // standard deviation of about 99. The band 9,000..=11,000 is ±10
        // deviations, so a correct generator leaves it with probability about
        // 1e-21 (binomial tails, summed over the 62 characters): the test does
        // not flake. Drawing from a few characters fails it at once, and so
        // does keeping byte 248 (`<=` for `<`), which makes "0" come 5/4 as
        // often (about 12,450 times).
        // First a quick look: in 6,200 characters a correct generator misses
        // one of the 62 with probability about 62 × (61/62)^6200 ≈ 1e-42.
        // Generators that keep only a few byte values fail here, fast.
        let quick = random_base62(6_200);
        for &c in BASE62 {
            assert!(
                quick.contains(c as char),
                "“{}” never drawn in 6,200",
                c as char
            );
        }
        const SAMPLES: usize = 620_000;
        let mut counts = [0usize; 62];
        for byte in random_base62(SAMPLES).bytes() {
            let slot = BASE62.iter().position(|&c| c == byte).expect("base62");
            counts[slot] += 1;
        }
        for (count, &c) in counts.iter().zip(BASE62) {
            assert!(
                (9_000..=11_000).contains(count),
                "“{}” drawn {count} times in {SAMPLES}: {counts:?}",
                c as char
            );
        }
    }

    #[test]
    fn two_tokens_differ() {
        assert_ne!(random_token(), random_token());
        assert!(is_token(&random_token()));
        assert!(!is_token("0000"));
        assert!(!is_token(&"G".repeat(64)));
    }

    #[test]
    fn fixed_width_encoding_pads_and_orders_digits() {
        assert_eq!(encode_base62_fixed(0, 6), "000000");
        assert_eq!(encode_base62_fixed(61, 2), "0z");
        assert_eq!(encode_base62_fixed(62, 2), "10");
        assert_eq!(encode_base62_fixed(u32::MAX as u64, 6), "4gfFC3");
    }
}

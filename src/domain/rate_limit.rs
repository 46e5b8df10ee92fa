//! Per-key request rate limits: a token bucket holding a minute's allowance,
//! refilled continuously.

use chrono::NaiveDateTime;

pub const MAX_PER_MINUTE: u32 = 1_000_000;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_minute: u32,
    tokens: f64,
    updated: NaiveDateTime,
}

impl TokenBucket {
    pub fn per_minute(per_minute: u32, now: NaiveDateTime) -> Self {
        TokenBucket {
            per_minute,
            tokens: f64::from(per_minute),
            updated: now,
        }
    }

    pub fn limit(&self) -> u32 {
        self.per_minute
    }

    /// Takes one request's token, or says how many whole seconds until one is available.
    pub fn take(&mut self, now: NaiveDateTime) -> Result<(), u64> {
        let rate = f64::from(self.per_minute) / 60.0;
        let elapsed = (now - self.updated).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(self.per_minute));
        self.updated = now.max(self.updated);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Reads the rate limit field of a form: blank means no limit.
pub fn parse_per_minute(input: &str) -> Result<Option<u32>, String> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    match input.parse::<u32>() {
        Ok(n) if (1..=MAX_PER_MINUTE).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "Enter a whole number of requests per minute from 1 to {MAX_PER_MINUTE}, or leave it blank for no limit."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    #[test]
    fn a_full_minute_is_allowed_at_once_then_refills_steadily() {
        let mut bucket = TokenBucket::per_minute(60, t0());
        for _ in 0..60 {
            assert!(bucket.take(t0()).is_ok());
        }
        assert_eq!(bucket.take(t0()), Err(1));
        assert!(bucket.take(t0() + Duration::seconds(1)).is_ok());
        assert!(bucket.take(t0() + Duration::seconds(1)).is_err());
    }

    #[test]
    fn six_hundred_a_minute_refill_one_every_tenth_of_a_second() {
        let mut bucket = TokenBucket::per_minute(600, t0());
        assert_eq!(bucket.limit(), 600);
        for n in 1..=600 {
            assert_eq!(bucket.take(t0()), Ok(()), "request {n}");
        }
        assert_eq!(bucket.take(t0()), Err(1));
        let ms = |ms| t0() + Duration::milliseconds(ms);
        assert_eq!(bucket.take(ms(50)), Err(1));
        assert_eq!(bucket.take(ms(100)), Ok(()));
        assert_eq!(bucket.take(ms(100)), Err(1));
        // Ten seconds give back 100 requests, not one more.
        let later = ms(10_100);
        for n in 1..=100 {
            assert_eq!(bucket.take(later), Ok(()), "request {n} after 10 s");
        }
        assert_eq!(bucket.take(later), Err(1));
    }

    #[test]
    fn thirty_a_minute_refill_one_every_two_seconds() {
        let mut bucket = TokenBucket::per_minute(30, t0());
        for n in 1..=30 {
            assert_eq!(bucket.take(t0()), Ok(()), "request {n}");
        }
        assert_eq!(bucket.take(t0()), Err(2));
        let s = |s| t0() + Duration::seconds(s);
        assert_eq!(bucket.take(s(1)), Err(1));
        assert_eq!(bucket.take(s(2)), Ok(()));
        assert_eq!(bucket.take(s(2)), Err(2));
        // A minute gives back the whole allowance.
        for n in 1..=30 {
            assert_eq!(bucket.take(s(62)), Ok(()), "request {n} after a minute");
        }
        assert_eq!(bucket.take(s(62)), Err(2));
    }

    #[test]
    fn it_never_holds_more_than_a_minute() {
        let mut bucket = TokenBucket::per_minute(2, t0());
        let later = t0() + Duration::hours(5);
        assert!(bucket.take(later).is_ok());
        assert!(bucket.take(later).is_ok());
        assert_eq!(bucket.take(later), Err(30));
    }

    #[test]
    fn the_form_field_is_blank_or_a_sane_number() {
        assert_eq!(parse_per_minute(" "), Ok(None));
        assert_eq!(parse_per_minute("120"), Ok(Some(120)));
        assert!(parse_per_minute("0").is_err());
        assert!(parse_per_minute("-5").is_err());
        assert!(parse_per_minute("1.5").is_err());
        assert!(parse_per_minute("99999999999").is_err());
    }
}

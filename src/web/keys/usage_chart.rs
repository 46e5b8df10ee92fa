//! The last 30 days of a key's verifications by outcome, as an SVG bar chart
//! drawn on the server (no script), with a labelled scale, plus the totals
//! behind it as a table.

use chrono::{Days, NaiveDate};

use crate::domain::verdict::Outcome;

pub const DAYS: u64 = 30;
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
/// Room under the bars for the first and last day.
const AXIS: f64 = 20.0;
/// Room left of the bars for the scale's numbers.
const SCALE: f64 = 48.0;
/// Room above the top of the scale, so its number is not cut off.
const HEADROOM: f64 = 8.0;

pub struct UsageChart {
    pub first_day: String,
    pub last_day: String,
    pub bars: Vec<Bar>,
    pub totals: Vec<Total>,
    /// The busiest day's requests.
    pub max: i64,
    /// The scale's marks: 0, the middle and the top (a round number at or above `max`).
    pub ticks: Vec<Tick>,
    pub width: f64,
    pub height: f64,
    pub plot_left: f64,
    pub plot_height: f64,
}

pub struct Tick {
    pub value: i64,
    pub y: f64,
}

pub struct Bar {
    pub day: String,
    pub x: f64,
    pub width: f64,
    pub total: i64,
    pub segments: Vec<Segment>,
}

pub struct Segment {
    pub y: f64,
    pub height: f64,
    pub class: &'static str,
    pub title: String,
}

pub struct Total {
    pub label: &'static str,
    pub class: &'static str,
    pub count: i64,
}

/// One colour per outcome (static/app.css), the same in bars and legend.
pub fn css_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Valid => "o-valid",
        Outcome::NotFound => "o-not-found",
        Outcome::Malformed => "o-malformed",
        Outcome::Expired => "o-expired",
        Outcome::Disabled => "o-disabled",
        Outcome::IpNotAllowed => "o-ip-not-allowed",
        Outcome::WrongType => "o-wrong-type",
        Outcome::WrongApplication => "o-wrong-application",
        Outcome::RateLimited => "o-rate-limited",
    }
}

/// The smallest of 2, 4, 6, 8, 10, 20, 40, ... at or above `n`: a top of
/// scale whose half is a whole number too.
pub fn round_up(n: i64) -> i64 {
    let mut unit = 1i64;
    loop {
        for step in [2, 4, 6, 8, 10] {
            if step * unit >= n {
                return step * unit;
            }
        }
        if unit > i64::MAX / 100 {
            return n;
        }
        unit *= 10;
    }
}

impl UsageChart {
    /// `rows` are (day `YYYY-MM-DD`, outcome code, count) for days from `today - 29` on.
    pub fn new(rows: &[(String, String, i64)], today: NaiveDate) -> Self {
        let first = today - Days::new(DAYS - 1);
        let days: Vec<NaiveDate> = (0..DAYS).map(|i| first + Days::new(i)).collect();
        let count = |day: &str, outcome: Outcome| -> i64 {
            rows.iter()
                .filter(|(d, o, _)| d == day && o == outcome.code())
                .map(|(_, _, n)| *n)
                .sum()
        };
        let per_day: Vec<(String, Vec<(Outcome, i64)>)> = days
            .iter()
            .map(|d| {
                let day = d.to_string();
                let counts = Outcome::ALL
                    .iter()
                    .map(|o| (*o, count(&day, *o)))
                    .filter(|(_, n)| *n > 0)
                    .collect();
                (day, counts)
            })
            .collect();
        let max = per_day
            .iter()
            .map(|(_, c)| c.iter().map(|(_, n)| n).sum::<i64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let top = round_up(max);
        let plot_height = HEIGHT - AXIS;
        let scale = (plot_height - HEADROOM) / top as f64;
        let slot = (WIDTH - SCALE) / DAYS as f64;
        let bars = per_day
            .into_iter()
            .enumerate()
            .map(|(i, (day, counts))| {
                let mut y = plot_height;
                let segments = counts
                    .iter()
                    .map(|(outcome, n)| {
                        let height = *n as f64 * scale;
                        y -= height;
                        Segment {
                            y,
                            height,
                            class: css_class(*outcome),
                            title: format!("{day}: {n} {}", outcome.label()),
                        }
                    })
                    .collect();
                Bar {
                    x: SCALE + i as f64 * slot + 2.0,
                    width: slot - 4.0,
                    total: counts.iter().map(|(_, n)| n).sum(),
                    day,
                    segments,
                }
            })
            .collect();
        let ticks = [0, top / 2, top]
            .into_iter()
            .map(|value| Tick {
                value,
                y: plot_height - value as f64 * scale,
            })
            .collect();
        let totals = Outcome::ALL
            .iter()
            .map(|o| Total {
                label: o.label(),
                class: css_class(*o),
                count: rows
                    .iter()
                    .filter(|(_, code, _)| code == o.code())
                    .map(|(_, _, n)| n)
                    .sum(),
            })
            .filter(|t| t.count > 0)
            .collect();
        UsageChart {
            first_day: first.to_string(),
            last_day: today.to_string(),
            bars,
            totals,
            max,
            ticks,
            width: WIDTH,
            height: HEIGHT,
            plot_left: SCALE,
            plot_height,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// The number at the top of the scale.
    pub fn scale_top(&self) -> i64 {
        self.ticks.last().map_or(0, |t| t.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_outcomes_on_a_round_scale() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let rows = vec![
            ("2026-11-25".to_owned(), "VALID".to_owned(), 30),
            ("2026-11-25".to_owned(), "IP_NOT_ALLOWED".to_owned(), 13),
            ("2026-11-20".to_owned(), "VALID".to_owned(), 20),
            // Outside the window: ignored in bars.
            ("2026-10-01".to_owned(), "VALID".to_owned(), 999),
        ];
        let chart = UsageChart::new(&rows, today);
        assert_eq!(chart.bars.len(), 30);
        assert_eq!(chart.max, 43);
        let ticks: Vec<i64> = chart.ticks.iter().map(|t| t.value).collect();
        assert_eq!(ticks, [0, 30, 60]);
        let last = chart.bars.last().unwrap();
        assert_eq!(last.total, 43);
        assert_eq!(last.segments.len(), 2);
        assert_eq!(
            [last.segments[0].class, last.segments[1].class],
            ["o-valid", "o-ip-not-allowed"]
        );
        // The bar reaches the height of 43 on the scale: its top is level with
        // where the scale would mark 43.
        let top = chart.plot_height - (chart.plot_height - chart.ticks[2].y) * 43.0 / 60.0;
        assert!((last.segments[1].y - top).abs() < 1e-6);
        assert_eq!(chart.ticks[0].y, chart.plot_height);
        assert_eq!(chart.bars[24].total, 20);
        assert_eq!(chart.bars[24].day, "2026-11-20");
        assert_eq!(chart.first_day, "2026-10-27");
    }

    #[test]
    fn the_scale_tops_out_at_a_round_number() {
        let table = [
            (1, 2),
            (2, 2),
            (3, 4),
            (5, 6),
            (9, 10),
            (10, 10),
            (11, 20),
            (40, 40),
            (41, 60),
            (81, 100),
            (1234, 2000),
            (5000, 6000),
            (999_999, 1_000_000),
        ];
        for (max, top) in table {
            assert_eq!(round_up(max), top, "{max}");
        }
    }

    #[test]
    fn no_usage_is_an_empty_chart() {
        let chart = UsageChart::new(&[], NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert!(chart.is_empty());
        assert!(chart.bars.iter().all(|b| b.segments.is_empty()));
    }

    /// WCAG's contrast ratio of two `#rrggbb` colours.
    fn contrast(a: &str, b: &str) -> f64 {
        let luminance = |hex: &str| {
            let channel = |i: usize| {
                let c = u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap() as f64 / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
        };
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn each_outcome_has_its_own_colour_that_stands_out_on_the_page() {
        let css = include_str!("../../../static/app.css");
        let mut colours = Vec::new();
        for outcome in Outcome::ALL {
            let class = css_class(outcome);
            let rule = css
                .lines()
                .find(|l| l.starts_with(&format!(".{class} ")))
                .unwrap_or_else(|| panic!("static/app.css styles .{class}"));
            let colour = rule
                .split("fill: ")
                .nth(1)
                .and_then(|rest| rest.get(..7))
                .unwrap_or_else(|| panic!("a fill colour in {rule}"));
            // Swatches and bars are graphics beside the legend's text: 3:1
            // against the panel (WCAG 1.4.11); these reach 4.5:1, as text would.
            assert!(
                contrast(colour, "#ffffff") >= 4.5,
                "{class} {colour}: {:.2}",
                contrast(colour, "#ffffff")
            );
            colours.push(colour);
        }
        let mut distinct = colours.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), Outcome::ALL.len(), "{colours:?}");
    }
}

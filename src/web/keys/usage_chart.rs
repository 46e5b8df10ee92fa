//! The last 30 days of a key's verifications by outcome, as an SVG bar chart
//! drawn on the server (no script), plus the totals behind it as a table.

use chrono::{Days, NaiveDate};

use crate::domain::verdict::Outcome;

pub const DAYS: u64 = 30;
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
const AXIS: f64 = 20.0;

pub struct UsageChart {
    pub first_day: String,
    pub last_day: String,
    pub bars: Vec<Bar>,
    pub totals: Vec<Total>,
    pub max: i64,
    pub width: f64,
    pub height: f64,
    pub plot_height: f64,
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

pub fn css_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Valid => "o-valid",
        Outcome::RateLimited => "o-limited",
        Outcome::IpNotAllowed | Outcome::WrongType => "o-refused",
        _ => "o-invalid",
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
        let plot_height = HEIGHT - AXIS;
        let slot = WIDTH / DAYS as f64;
        let bars = per_day
            .into_iter()
            .enumerate()
            .map(|(i, (day, counts))| {
                let mut top = plot_height;
                let segments = counts
                    .iter()
                    .map(|(outcome, n)| {
                        let height = (*n as f64 / max as f64) * (plot_height - 4.0);
                        top -= height;
                        Segment {
                            y: top,
                            height,
                            class: css_class(*outcome),
                            title: format!("{day}: {n} {}", outcome.label()),
                        }
                    })
                    .collect();
                Bar {
                    x: i as f64 * slot + 2.0,
                    width: slot - 4.0,
                    total: counts.iter().map(|(_, n)| n).sum(),
                    day,
                    segments,
                }
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
            width: WIDTH,
            height: HEIGHT,
            plot_height,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_outcomes_and_scale_to_the_busiest_day() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let rows = vec![
            ("2026-11-25".to_owned(), "VALID".to_owned(), 30),
            ("2026-11-25".to_owned(), "IP_NOT_ALLOWED".to_owned(), 10),
            ("2026-11-20".to_owned(), "VALID".to_owned(), 20),
            // Outside the window: ignored in bars.
            ("2026-10-01".to_owned(), "VALID".to_owned(), 999),
        ];
        let chart = UsageChart::new(&rows, today);
        assert_eq!(chart.bars.len(), 30);
        assert_eq!(chart.max, 40);
        let last = chart.bars.last().unwrap();
        assert_eq!(last.total, 40);
        assert_eq!(last.segments.len(), 2);
        assert!(
            (last.segments.iter().map(|s| s.height).sum::<f64>() - (chart.plot_height - 4.0)).abs()
                < 1e-6
        );
        assert_eq!(chart.bars[24].total, 20);
        assert_eq!(chart.bars[24].day, "2026-11-20");
        assert_eq!(chart.first_day, "2026-10-27");
    }

    #[test]
    fn no_usage_is_an_empty_chart() {
        let chart = UsageChart::new(&[], NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert!(chart.is_empty());
        assert!(chart.bars.iter().all(|b| b.segments.is_empty()));
    }
}

//! Page links for keyset-paged lists, built on the opaque cursors of
//! [`crate::domain::cursor`].

pub use crate::domain::cursor::{BadCursor, Cursor, Direction, Value};

/// The links under a keyset-paged list, for `partials/_cursor_pager.html`.
/// Each link is a query string (`?…`) that keeps the list's filters.
#[derive(Debug, Default)]
pub struct CursorPager {
    /// Back to the first page, when not on it.
    pub first: Option<String>,
    /// The page before this one (rows earlier in the list's order).
    pub previous: Option<String>,
    /// The page after this one.
    pub next: Option<String>,
    /// The words of each link, e.g. ("Newest", "Newer", "Older").
    pub words: (&'static str, &'static str, &'static str),
    /// What the list holds, e.g. "10,000+ events".
    pub summary: String,
}

impl CursorPager {
    /// `filters` is the list's query string without its cursor (may be empty).
    /// `previous` and `next` are the cursors of the neighbouring pages, if any;
    /// `first` says whether to offer the first page.
    pub fn new(
        filters: &str,
        first: bool,
        previous: Option<Cursor>,
        next: Option<Cursor>,
        words: (&'static str, &'static str, &'static str),
        summary: String,
    ) -> Self {
        let with = |cursor: Option<Cursor>| {
            cursor.map(|c| {
                if filters.is_empty() {
                    format!("?cursor={}", c.encode())
                } else {
                    format!("?{filters}&cursor={}", c.encode())
                }
            })
        };
        CursorPager {
            first: first.then(|| format!("?{filters}")),
            previous: with(previous),
            next: with(next),
            words,
            summary,
        }
    }

    /// Whether any link is shown.
    pub fn has_links(&self) -> bool {
        self.first.is_some() || self.previous.is_some() || self.next.is_some()
    }
}

/// The query string of a request without its `cursor` (and any old `page`),
/// for links that keep the filters.
pub fn query_without_cursor(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            !pair.is_empty()
                && !pair.starts_with("cursor=")
                && pair != &"cursor"
                && !pair.starts_with("page=")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_links_keep_the_filters() {
        let older = Cursor::after(vec![Value::Int(1), "a".into()]);
        let pager = CursorPager::new(
            "action=key.created",
            true,
            None,
            Some(older.clone()),
            ("Newest", "Newer", "Older"),
            "3 events".into(),
        );
        assert_eq!(pager.first.as_deref(), Some("?action=key.created"));
        assert_eq!(pager.previous, None);
        assert_eq!(
            pager.next,
            Some(format!("?action=key.created&cursor={}", older.encode()))
        );
        let bare = CursorPager::new(
            "",
            false,
            Some(older.clone()),
            None,
            ("", "", ""),
            "".into(),
        );
        assert_eq!(bare.previous, Some(format!("?cursor={}", older.encode())));
        assert!(bare.has_links());
        assert_eq!(
            query_without_cursor("actor=ad&cursor=abc&page=2&key=&cursor"),
            "actor=ad&key="
        );
    }
}

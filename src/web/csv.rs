//! CSV downloads: cells a spreadsheet cannot run as formulas, and a response
//! streamed from the database in keyset batches, so the server's memory stays
//! flat however many rows the file has.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::header::{
    self, CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::web::{self, Bytes};

use crate::db::DbConn;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// Rows read per database call while streaming.
pub const BATCH: i64 = 1_000;

/// One CSV cell: quoted, with quotes doubled, and defused when a spreadsheet
/// would run it as a formula (it starts with `= + - @`, a tab or a carriage
/// return): a leading `'` makes it text.
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// One CSV line of `cells`, each through [`field`], ending in CRLF.
fn push_line(out: &mut String, cells: &[String]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(cell));
    }
    out.push_str("\r\n");
}

/// What a streamed CSV file is made of.
pub struct CsvExport<R, L, F> {
    /// The name the browser saves the file as.
    pub file_name: &'static str,
    /// The first line, without its line break: the column names.
    pub header: &'static str,
    /// Loads up to `limit` rows following `after` (from the start when
    /// `None`), in the file's order: a keyset query continuing from the last
    /// row of the previous batch. Fewer than `limit` rows means the end.
    pub load: L,
    /// One row's cells, in the header's order.
    pub cells: F,
    pub _rows: std::marker::PhantomData<fn() -> R>,
}

impl<R, L, F> CsvExport<R, L, F>
where
    R: Send + 'static,
    L: Fn(&mut DbConn, Option<&R>, i64) -> Result<Vec<R>, AppError> + Send + Sync + 'static,
    F: Fn(&R) -> Vec<String> + 'static,
{
    pub fn new(file_name: &'static str, header: &'static str, load: L, cells: F) -> Self {
        CsvExport {
            file_name,
            header,
            load,
            cells,
            _rows: std::marker::PhantomData,
        }
    }

    /// The download as a streamed response: `text/csv`, an attachment, never
    /// cached. The first batch is read before answering, so a database that
    /// cannot be reached gives the usual error page (503); an error after
    /// that is logged and breaks the download off, so the browser reports a
    /// failed download rather than saving a file that looks complete.
    pub async fn respond(self, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
        let load = Arc::new(self.load);
        let first = next_batch(&state, &load, None).await?;
        let text = format!("{}\r\n", self.header);
        let chunks = Batches {
            state,
            load,
            cells: self.cells,
            next: Next::Rows(text, first),
        };
        let body = futures_util::stream::unfold(chunks, Batches::next);
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .insert_header(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(self.file_name.into())],
            })
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .streaming(body))
    }
}

/// Loads the batch after `after` on the blocking pool; hands `after` back
/// with the rows.
async fn next_batch<R, L>(
    state: &web::Data<AppState>,
    load: &Arc<L>,
    after: Option<R>,
) -> Result<Vec<R>, AppError>
where
    R: Send + 'static,
    L: Fn(&mut DbConn, Option<&R>, i64) -> Result<Vec<R>, AppError> + Send + Sync + 'static,
{
    let load = Arc::clone(load);
    state
        .db(move |conn| load(conn, after.as_ref(), BATCH))
        .await
}

/// The stream's state between chunks.
struct Batches<R, L, F> {
    state: web::Data<AppState>,
    load: Arc<L>,
    cells: F,
    next: Next<R>,
}

/// What the stream sends next.
enum Next<R> {
    /// Text not yet sent (the header, first time) and rows not yet written.
    Rows(String, Vec<R>),
    /// An error that breaks the download off.
    Fail,
    Done,
}

impl<R, L, F> Batches<R, L, F>
where
    R: Send + 'static,
    L: Fn(&mut DbConn, Option<&R>, i64) -> Result<Vec<R>, AppError> + Send + Sync + 'static,
    F: Fn(&R) -> Vec<String>,
{
    /// One chunk per batch: writes the pending rows, then reads the next batch.
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        let (mut text, rows) = match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return None,
            Next::Fail => {
                let e = std::io::Error::other("the export could not read the database");
                return Some((Err(e), self));
            }
            Next::Rows(text, rows) => (text, rows),
        };
        let full = rows.len() as i64 >= BATCH;
        for row in &rows {
            push_line(&mut text, &(self.cells)(row));
        }
        if full {
            let last = rows.into_iter().last();
            self.next = match next_batch(&self.state, &self.load, last).await {
                Ok(more) if more.is_empty() => Next::Done,
                Ok(more) => Next::Rows(String::new(), more),
                Err(e) => {
                    // The rows read so far still go out first.
                    log::error!("CSV export broken off: {e}");
                    Next::Fail
                }
            };
        }
        Some((Ok(Bytes::from(text)), self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let cases = [
            ("plain", "\"plain\""),
            ("say \"hi\", ok", "\"say \"\"hi\"\", ok\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "\"'+1\""),
            ("-2", "\"'-2\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tx", "\"'\tx\""),
            ("\rx", "\"'\rx\""),
            ("a=b", "\"a=b\""),
            ("", "\"\""),
        ];
        for (value, cell) in cases {
            assert_eq!(field(value), cell, "{value:?}");
        }
    }

    #[test]
    fn a_line_is_its_cells_then_crlf() {
        let mut out = String::new();
        push_line(&mut out, &["a".to_owned(), "=b".to_owned()]);
        assert_eq!(out, "\"a\",\"'=b\"\r\n");
    }
}

//! The key list: search, filters, orders and keyset pages, and the search
//! box's form post (a pasted whole key must never travel in an address).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::count::Counted;
use crate::db::key_search::{self, ListedKey};
use crate::db::{expiring, usage, users};
use crate::domain::cursor::Direction;
use crate::domain::key_search::{
    self as search, Choice, FILTERS, FilterContext, ListRequest, PAGE_SIZE, SORTS, SearchText,
};
use crate::domain::role::Permission;
use crate::web::auth::CurrentUser;
use crate::web::csv::CsvExport;
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::state::AppState;
use crate::web::views::{Can, Chrome, Flash};
use crate::web::{render, see_other, session};

pub const LIST_PATH: &str = "/settings/integrations";

/// The API key list, with the one-time modal when a key was just generated.
#[derive(Template)]
#[template(path = "keys/list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub can: Can,
    pub rows: Vec<KeyRow>,
    pub form: SearchForm,
    pub pages: PageLinks,
    /// Why the request could not be read; the page then lists nothing.
    pub error: Option<String>,
    /// The CSV of this selection, for those who may export it.
    pub export: Option<String>,
    pub revealed: Option<super::generate::Revealed>,
    /// "3 keys expire within 7 days.", when any live key does (the banner).
    pub expiring: Option<String>,
}

/// The search box and filters as the page shows them.
pub struct SearchForm {
    pub q: String,
    pub filters: Vec<FilterField>,
    pub sort: String,
    pub descending: bool,
    pub sorts: &'static [(search::SortKey, &'static str, &'static str)],
    /// Any search or filter is applied.
    pub narrowed: bool,
}

pub struct FilterField {
    pub param: &'static str,
    pub label: &'static str,
    pub any: &'static str,
    pub choices: Vec<Choice>,
    pub selected: String,
}

/// Links to the neighbouring pages and the count of the selection.
#[derive(Default)]
pub struct PageLinks {
    pub first: Option<String>,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub count: String,
    /// A cursor was followed but nothing lies beyond it.
    pub past_the_end: bool,
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let flash = session::take_flash(&session);
    let pairs = query.into_inner();
    let (status, mut page) = match load(&state, &user, &pairs).await? {
        Ok(page) => (StatusCode::OK, page),
        Err(page) => (StatusCode::BAD_REQUEST, page),
    };
    page.chrome.flash = flash;
    render(status, &page)
}

/// The search box's form: a whole key goes straight to that key; anything
/// else becomes the list's address, so it can be shared and bookmarked.
pub async fn search(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut pairs: Vec<(String, String)> = form
        .into_inner()
        .into_iter()
        .filter(|(name, value)| {
            name != "csrf_token" && name != "cursor" && !value.trim().is_empty()
        })
        .collect();
    let q = pairs
        .iter()
        .find(|(name, _)| name == search::SEARCH_PARAM)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Ok(SearchText::WholeKey) = search::read_search(&q) {
        pairs.retain(|(name, _)| name != search::SEARCH_PARAM);
        return match state.verifier.identify(q.trim()) {
            Some(id) if user.can(Permission::ViewKeyDetails) => {
                Ok(see_other(&format!("{LIST_PATH}/keys/{id}")))
            }
            Some(id) => {
                pairs.push((search::SEARCH_PARAM.to_owned(), id));
                Ok(see_other(&list_address(&pairs)))
            }
            None => {
                session::set_flash(
                    &session,
                    Flash::error(
                        "No key matches the key you pasted. It may have been deleted, or it belongs to another Latchkey.",
                    ),
                )?;
                Ok(see_other(&list_address(&pairs)))
            }
        };
    }
    Ok(see_other(&list_address(&pairs)))
}

fn list_address(pairs: &[(String, String)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if query.is_empty() {
        LIST_PATH.to_owned()
    } else {
        format!("{LIST_PATH}?{query}")
    }
}

/// Loads the page a query string asks for; `Err` holds the page that says
/// what was wrong with it.
pub async fn load(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    pairs: &[(String, String)],
) -> Result<Result<ListPage, ListPage>, AppError> {
    let people = people(state).await?;
    let now = state.clock.now();
    let cx = FilterContext {
        now,
        catalogue: &state.catalogue,
        people: &people,
    };
    let request = search::read_request(pairs, &cx);
    let form = search_form(pairs, request.as_ref().ok(), &cx);
    let mut page = ListPage {
        chrome: Chrome::for_user(user, None, "integrations"),
        can: Can::for_role(user.role),
        rows: Vec::new(),
        form,
        pages: PageLinks::default(),
        error: None,
        export: None,
        revealed: None,
        expiring: None,
    };
    let request = match request {
        Ok(request) => request,
        Err(message) => {
            page.error = Some(message);
            return Ok(Err(page));
        }
    };
    let query = request.clone();
    let today = now.date();
    // The keys the list's "Expiring soon" filter shows.
    let window = expiring::Window::new(&state.catalogue, now, search::EXPIRING_WITHIN);
    let (found, count, refused, soon) = state
        .db(move |conn| {
            let (found, count) = key_search::find_page(conn, &query, PAGE_SIZE)?;
            let ids: Vec<String> = found.keys.iter().map(|k| k.id.clone()).collect();
            let refused = usage::refused_on(conn, &ids, today)?;
            let soon = expiring::count(conn, &window, key_search::FILTERED_COUNT_CAP)?;
            Ok((found, count, refused, soon))
        })
        .await?;
    let days = search::EXPIRING_WITHIN.num_days();
    page.expiring = match soon {
        Counted::Exactly(0) => None,
        Counted::Exactly(1) => Some(format!("1 key expires within {days} days.")),
        more => Some(format!("{more} keys expire within {days} days.")),
    };
    page.rows = found
        .keys
        .iter()
        .cloned()
        .map(|k| {
            let creator = creator_email(&people, k.created_by.as_deref());
            let mut row = KeyRow::new(k.into_view(creator), &state.catalogue, now);
            row.refused_today = refused.get(&row.id).copied().unwrap_or(0);
            row
        })
        .collect();
    page.export = user
        .can(Permission::ViewKeyDetails)
        .then(|| format!("{LIST_PATH}/keys.csv?{}", request.query_string(&[])));
    page.pages = page_links(&request, &found, count);
    Ok(Ok(page))
}

/// Everyone who could have created a key, (id, email): few, so loaded whole.
async fn people(state: &web::Data<AppState>) -> Result<Vec<(String, String)>, AppError> {
    state
        .db(|conn| {
            Ok(users::list(conn)?
                .into_iter()
                .map(|u| (u.id, u.email))
                .collect())
        })
        .await
}

/// The email of the person with this id, if they still exist.
pub fn creator_email(people: &[(String, String)], id: Option<&str>) -> Option<String> {
    let id = id?;
    people
        .iter()
        .find(|(person, _)| person == id)
        .map(|(_, email)| email.clone())
}

fn search_form(
    pairs: &[(String, String)],
    request: Option<&ListRequest>,
    cx: &FilterContext<'_>,
) -> SearchForm {
    let given = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let sort = request.map(|r| r.sort).unwrap_or_default();
    SearchForm {
        // Never a whole key: those are refused before they get here.
        q: request
            .and_then(|r| r.search.as_ref())
            .map(|s| s.text.clone())
            .unwrap_or_default(),
        filters: FILTERS
            .iter()
            .map(|f| FilterField {
                param: f.param,
                label: f.label,
                any: f.any,
                choices: (f.choices)(cx),
                selected: given(f.param),
            })
            .collect(),
        sort: sort.key.param().to_owned(),
        descending: sort.descending,
        sorts: SORTS,
        narrowed: request.is_some_and(ListRequest::is_filtered),
    }
}

fn page_links(request: &ListRequest, found: &key_search::Page, count: Counted) -> PageLinks {
    let link = |extra: &[(&str, &str)]| {
        let query = request.query_string(extra);
        if query.is_empty() {
            LIST_PATH.to_owned()
        } else {
            format!("{LIST_PATH}?{query}")
        }
    };
    let first_cursor = found
        .first
        .as_ref()
        .map(|p| p.cursor(Direction::Before).encode());
    let last_cursor = found
        .last
        .as_ref()
        .map(|p| p.cursor(Direction::After).encode());
    PageLinks {
        first: request.from.is_some().then(|| link(&[])),
        previous: first_cursor
            .filter(|_| found.has_before)
            .map(|c| link(&[("cursor", &c)])),
        next: last_cursor
            .filter(|_| found.has_after)
            .map(|c| link(&[("cursor", &c)])),
        count: format!(
            "{count} {}",
            if count == Counted::Exactly(1) {
                "key"
            } else {
                "keys"
            }
        ),
        past_the_end: found.keys.is_empty()
            && matches!(
                request.from,
                Some((Direction::After | Direction::Before, _))
            ),
    }
}

const CSV_HEADER: &str = "key_id,masked_key,name,type,contact_email,created_by,created_utc,\
expires_utc,last_used_utc,last_used_ip,trusted_ips,rate_limit_per_minute,status";

fn utc(at: Option<chrono::NaiveDateTime>) -> String {
    at.map(|at| {
        at.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
    .unwrap_or_default()
}

/// The selected keys as CSV, in the list's order, read in batches: masked
/// keys and what the list shows, never a secret.
pub async fn export(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let people = people(&state).await?;
    let now = state.clock.now();
    let cx = FilterContext {
        now,
        catalogue: &state.catalogue,
        people: &people,
    };
    let request = search::read_request(&query.into_inner(), &cx).map_err(AppError::BadRequest)?;
    let order = request.sort.key;
    let load = move |conn: &mut crate::db::DbConn, after: Option<&ListedKey>, limit: i64| {
        let mut batch = request.clone();
        batch.from = after.map(|k| (Direction::After, k.position(order)));
        Ok(key_search::find_keys(conn, &batch, limit as usize)?.keys)
    };
    let catalogue = state.catalogue.clone();
    let cells = move |key: &ListedKey| {
        let creator = creator_email(&people, key.created_by.as_deref());
        let row = KeyRow::new(key.clone().into_view(creator), &catalogue, now);
        vec![
            row.id,
            row.masked,
            row.name,
            row.type_name,
            row.contact_email,
            row.created_by,
            utc(Some(key.created_at)),
            utc(key.expires_at),
            utc(key.last_used_at),
            key.last_used_ip.clone().unwrap_or_default(),
            row.ip_entries.join(" "),
            row.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
            row.status.label().to_owned(),
        ]
    };
    CsvExport::new("latchkey-keys.csv", CSV_HEADER, load, cells)
        .respond(state)
        .await
}

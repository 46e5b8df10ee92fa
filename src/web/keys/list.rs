use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::keys;
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::ok;
use crate::web::session;
use crate::web::state::AppState;
use crate::web::views::{Can, Chrome, Pager};

pub const PAGE_SIZE: i64 = 20;

/// The API key list, with the one-time modal when a key was just generated.
#[derive(Template)]
#[template(path = "keys/list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub can: Can,
    pub rows: Vec<KeyRow>,
    pub pager: Pager,
    pub revealed: Option<super::generate::Revealed>,
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = Pager::requested(query.page)?;
    let flash = session::take_flash(&session);
    let list = load(&state, &user, page).await?;
    ok(&ListPage {
        chrome: Chrome::for_user(&user, flash, "integrations"),
        revealed: None,
        ..list
    })
}

/// Loads one page of keys; shared with the generate flow, which shows the list behind its modal.
pub async fn load(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    page: i64,
) -> Result<ListPage, AppError> {
    let (total, views) = state
        .db(move |conn| {
            let total = keys::listed_count(conn)?;
            let views = keys::list_page(conn, (page - 1) * PAGE_SIZE, PAGE_SIZE)?;
            Ok((total, views))
        })
        .await?;
    let now = state.clock.now();
    let rows = views
        .into_iter()
        .map(|v| KeyRow::new(v, &state.catalogue, now))
        .collect();
    Ok(ListPage {
        chrome: Chrome::for_user(user, None, "integrations"),
        can: Can::for_role(user.role),
        rows,
        pager: Pager::new(page, total, PAGE_SIZE, String::new(), ("key", "keys")),
        revealed: None,
    })
}

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::{self, keys};
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::ok;
use crate::web::state::AppState;
use crate::web::views::{Can, Chrome};

#[derive(Template)]
#[template(path = "keys/detail.html")]
struct DetailPage {
    chrome: Chrome,
    can: Can,
    key: KeyRow,
}

pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = super::key_id_from_path(id)?;
    let view = state
        .db(move |conn| Ok(keys::find(conn, &id)?))
        .await?
        .ok_or_else(super::no_such_key)?;
    ok(&DetailPage {
        chrome: Chrome::for_user(&user, None, "integrations"),
        can: Can::for_role(user.role),
        key: KeyRow::new(view, &state.catalogue, db::now()),
    })
}

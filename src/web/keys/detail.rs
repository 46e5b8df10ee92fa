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
    let id = id.into_inner();
    let view = state
        .db(move |conn| Ok(keys::find(conn, &id)?))
        .await?
        .ok_or(AppError::NotFoundWith(
            "There is no API key with that identifier. It may have been deleted.".into(),
        ))?;
    ok(&DetailPage {
        chrome: Chrome::for_user(&user, None, "integrations"),
        can: Can::for_role(user.role),
        key: KeyRow::new(view, &state.catalogue, db::now()),
    })
}

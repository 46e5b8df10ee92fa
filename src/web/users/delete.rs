//! Deleting a user, after a confirmation page. The keys they created keep
//! working; the console then names their creator "a deleted user".

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::users;
use crate::domain::user_access::AccessChange;
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::ok;
use crate::web::state::AppState;
use crate::web::views::Chrome;

#[derive(Template)]
#[template(path = "users/delete.html")]
struct ConfirmPage {
    chrome: Chrome,
    id: String,
    email: String,
}

pub async fn confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let target = state
        .db(move |conn| Ok(users::find(conn, &id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    ok(&ConfirmPage {
        chrome: Chrome::for_user(&user, None, "users"),
        id: target.id,
        email: target.email,
    })
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    super::change(req, state, session, user, id, AccessChange::Delete).await
}

//! The Generate API Key flow:
//! 1. type, name, contact email and expiry (a draft is saved, then 303 to step 2);
//! 2. trusted IP addresses, then **Authorize and Generate**;
//! 3. the key, shown once in a modal over the list.
//!
//! The draft id in step two's address is the one-time token: generating marks
//! it used in the same transaction that stores the key, so a reload, a second
//! click or going back can never create a second key or show this one again.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::applications;
use crate::db::audit::{AuditEvent, action};
use crate::db::drafts::{self, Draft};
use crate::db::keys::{self, GenerateError, KeyDetails, NewKeyRow, VerifyRow};
use crate::db::{self};
use crate::domain::api_key::NewApiKey;
use crate::domain::application::DEFAULT_ID;
use crate::domain::ip_allowlist::{IpAllowlist, LineError};
use crate::domain::key_request::{FieldErrors, KeyRequestForm};
use crate::domain::key_type::{KeyType, Scheme};
use crate::domain::rate_limit::parse_per_minute;
use crate::domain::token::{is_token, random_token};
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::keys::try_it;
use crate::web::keys::type_picker::{self, ExpiryOptions, TypeGroup};
use crate::web::state::AppState;
use crate::web::views::FieldMessages;
use crate::web::views::{Chrome, Flash, Moment};
use crate::web::{render, see_other, session};

const LIST: &str = "/settings/integrations";
const ALREADY_GENERATED: &str = "That API key was already generated, and a key is shown only once. \
    If you did not copy it, delete it and generate a new one.";
const NOT_A_DRAFT: &str =
    "This Generate API Key form is not valid. Start again from Generate API Key.";
/// Bad lines shown one by one; the rest are counted, so a pasted file of
/// thousands of bad lines gives a page to read, not a megabyte of messages.
const SHOWN_LINE_ERRORS: usize = 20;

// ---- step 1 -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "keys/new.html")]
struct DetailsPage {
    chrome: Chrome,
    form: KeyRequestForm,
    groups: Vec<TypeGroup>,
    expiry: ExpiryOptions,
    errors: FieldErrors,
    /// The Applications keys can be made in (not archived), by name: the
    /// form asks which only when there are two or more.
    applications: Vec<(String, String)>,
}

async fn details_page(
    state: &AppState,
    user: &CurrentUser,
    mut form: KeyRequestForm,
    errors: FieldErrors,
) -> Result<DetailsPage, AppError> {
    let applications = open_applications(state).await?;
    // The one asked for if it is open, else the Default, else the first.
    if !applications.iter().any(|(id, _)| *id == form.application) {
        form.application = applications
            .iter()
            .find(|(id, _)| id == DEFAULT_ID)
            .or(applications.first())
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
    }
    Ok(DetailsPage {
        chrome: Chrome::for_user(user, None, "integrations"),
        groups: type_picker::type_groups(state, form.type_code.trim(), &form.application).await?,
        expiry: type_picker::expiry_options(&form, state.clock.now().date()),
        form,
        errors,
        applications,
    })
}

/// The Applications keys can be generated in: (id, name), by name.
async fn open_applications(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(state
        .db(|conn| Ok(applications::all(conn)?))
        .await?
        .into_iter()
        .filter(|a| a.archived_at.is_none())
        .map(|a| (a.id, a.name))
        .collect())
}

#[derive(serde::Deserialize)]
pub struct TypeQuery {
    #[serde(rename = "type", default)]
    type_code: String,
    /// The Application to preselect (from the key list's switcher).
    #[serde(default)]
    application: String,
}

pub async fn details_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<TypeQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut form = type_picker::starting_form(&state.catalogue, query.type_code, state.clock.now());
    form.application = query.application;
    render(
        StatusCode::OK,
        &details_page(&state, &user, form, Vec::new()).await?,
    )
}

pub async fn details_submit(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<KeyRequestForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let open = open_applications(&state).await?;
    // With one Application the form does not ask; a forged or archived one
    // is refused whatever the form sends.
    let application = match (form.application.trim(), open.as_slice()) {
        ("", [(only, _)]) => Some(only.clone()),
        (asked, _) => open
            .iter()
            .find(|(id, _)| id == asked)
            .map(|(id, _)| id.clone()),
    };
    let request = match (
        form.validate(&state.catalogue, state.clock.now()),
        &application,
    ) {
        (Ok(request), Some(_)) => request,
        (validated, _) => {
            let mut errors = validated.err().unwrap_or_default();
            if application.is_none() {
                errors.insert(
                    0,
                    (
                        "application",
                        "Choose an Application that is not archived.".to_owned(),
                    ),
                );
            }
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &details_page(&state, &user, form, errors).await?,
            );
        }
    };
    let application = application.expect("checked above");
    let key_type = state
        .catalogue
        .get(&request.type_code)
        .expect("validated")
        .clone();
    // Checked again, under a lock, when the key is generated; this early check
    // spares the administrator a step that cannot succeed.
    if let Some(message) = limit_message(&state, &key_type, &application).await? {
        return render(
            StatusCode::CONFLICT,
            &details_page(&state, &user, form, vec![("type_code", message)]).await?,
        );
    }
    let draft = Draft {
        id: random_token(),
        user_id: user.id.clone(),
        type_code: request.type_code,
        name: request.name,
        contact_email: request.contact_email,
        expires_at: request.expiry.instant(),
        created_at: db::now(),
        used_at: None,
        application_id: application,
    };
    let to = format!("{LIST}/keys/new/{}", draft.id);
    state
        .db(move |conn| Ok(drafts::create(conn, &draft)?))
        .await?;
    Ok(see_other(&to))
}

async fn limit_message(
    state: &AppState,
    key_type: &KeyType,
    application_id: &str,
) -> Result<Option<String>, AppError> {
    let Some(limit) = key_type.max_active else {
        return Ok(None);
    };
    let (code, application_id) = (key_type.code.clone(), application_id.to_owned());
    let active = state
        .db(move |conn| Ok(keys::active_count(conn, &code, &application_id, db::now())?))
        .await?;
    Ok((active >= i64::from(limit)).then(|| limit_reached(key_type, limit)))
}

fn limit_reached(key_type: &KeyType, limit: u32) -> String {
    format!(
        "{} already has {limit} active keys, the most allowed. Delete one of them before generating another.",
        key_type.name
    )
}

// ---- step 2 -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "keys/authorize.html")]
struct IpsPage {
    chrome: Chrome,
    draft_id: String,
    type_name: String,
    name: String,
    contact_email: String,
    expires: Option<Moment>,
    trusted_ips: String,
    line_errors: Vec<LineError>,
    /// Bad lines beyond the ones shown.
    more_line_errors: usize,
    rate_limit: String,
    rate_error: Option<String>,
    limit_error: Option<String>,
    /// The expiry chosen in step one is no longer allowed (the day ended,
    /// or the catalogue changed): start again from step one.
    expiry_error: Option<String>,
    type_code: String,
}

fn ips_page(user: &CurrentUser, draft: &Draft, key_type: &KeyType, trusted_ips: String) -> IpsPage {
    IpsPage {
        chrome: Chrome::for_user(user, None, "integrations"),
        draft_id: draft.id.clone(),
        type_name: key_type.name.clone(),
        name: draft.name.clone(),
        contact_email: draft.contact_email.clone(),
        expires: draft.expires_at.map(Moment::expiry),
        trusted_ips,
        line_errors: Vec::new(),
        more_line_errors: 0,
        rate_limit: String::new(),
        rate_error: None,
        limit_error: None,
        expiry_error: None,
        type_code: key_type.code.clone(),
    }
}

/// Why the draft's expiry cannot be given to a key created now, if it cannot:
/// judged at generation too, so no key is ever created past its type's maximum.
fn expiry_problem(state: &AppState, draft: &Draft, key_type: &KeyType) -> Option<String> {
    let now = state.clock.now();
    key_type.check_expiry(now, draft.expires_at, now).err()
}

/// The caller's draft if it can still be used; otherwise the response to give instead.
async fn usable_draft(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    id: String,
) -> Result<Result<(Draft, KeyType), HttpResponse>, AppError> {
    if !is_token(&id) {
        return Err(AppError::NotFoundWith(NOT_A_DRAFT.into()));
    }
    let user_id = user.id.clone();
    let Some(draft) = state
        .db(move |conn| Ok(drafts::find(conn, &id, &user_id)?))
        .await?
    else {
        return Err(AppError::NotFoundWith(NOT_A_DRAFT.into()));
    };
    if draft.used_at.is_some() {
        session::set_flash(session, Flash::info(ALREADY_GENERATED))?;
        return Ok(Err(see_other(LIST)));
    }
    if draft.is_stale(db::now()) {
        session::set_flash(
            session,
            Flash::info("That form was left open too long. Please start again."),
        )?;
        return Ok(Err(see_other(&format!("{LIST}/keys/new"))));
    }
    let Some(key_type) = state.catalogue.get(&draft.type_code).cloned() else {
        return Err(AppError::NotFoundWith(NOT_A_DRAFT.into()));
    };
    Ok(Ok((draft, key_type)))
}

pub async fn ips_form(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    draft: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (draft, key_type) = match usable_draft(&state, &session, &user, draft.into_inner()).await? {
        Ok(usable) => usable,
        Err(response) => return Ok(response),
    };
    let mut page = ips_page(&user, &draft, &key_type, String::new());
    page.limit_error = limit_message(&state, &key_type, &draft.application_id).await?;
    page.expiry_error = expiry_problem(&state, &draft, &key_type);
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct IpsForm {
    #[serde(default)]
    trusted_ips: String,
    #[serde(default)]
    rate_limit: String,
}

/// The first bad lines, and how many more there are. Errors about the whole
/// list (line 0) are always shown.
pub(super) fn first_line_errors(errors: Vec<LineError>) -> (Vec<LineError>, usize) {
    let (mut lines, whole_list): (Vec<_>, Vec<_>) = errors.into_iter().partition(|e| e.line > 0);
    let more = lines.len().saturating_sub(SHOWN_LINE_ERRORS);
    lines.truncate(SHOWN_LINE_ERRORS);
    lines.extend(whole_list);
    (lines, more)
}

/// What the modal shows, once. Lives only for the response that renders it.
pub struct Revealed {
    pub name: String,
    pub type_name: String,
    pub scheme: Scheme,
    pub token: String,
    /// The non-secret half of a key/secret pair: `lk_<type>_<id>`.
    pub key_id: String,
    /// The Key ID the list and the key's page show (its public id).
    pub id: String,
    pub secret: String,
    /// A `curl` command that checks the key against this console.
    pub try_it: String,
    /// The key has trusted IPs: the example works only from those.
    pub restricted: bool,
}

impl Revealed {
    /// What the modal shows of a key just made (generated or rolled), with
    /// a ready example that checks it against this console.
    pub fn new(
        req: &HttpRequest,
        state: &AppState,
        key: &NewApiKey,
        name: String,
        type_name: String,
        scheme: Scheme,
        restricted: bool,
    ) -> Self {
        let (token, key_id, secret) = (key.token(), key.key_id(), key.pair_secret());
        let try_it = try_it::example(
            &try_it::console_origin(req, state),
            scheme,
            &token,
            &key_id,
            &secret,
        );
        Revealed {
            name,
            type_name,
            scheme,
            token,
            key_id,
            id: key.public_id.clone(),
            secret,
            try_it,
            restricted,
        }
    }
}

pub async fn generate(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    draft: web::Path<String>,
    form: web::Form<IpsForm>,
) -> Result<HttpResponse, AppError> {
    let (draft, key_type) = match usable_draft(&state, &session, &user, draft.into_inner()).await? {
        Ok(usable) => usable,
        Err(response) => return Ok(response),
    };
    let IpsForm {
        trusted_ips,
        rate_limit,
    } = form.into_inner();
    if let Some(problem) = expiry_problem(&state, &draft, &key_type) {
        let mut page = ips_page(&user, &draft, &key_type, trusted_ips);
        page.expiry_error = Some(problem);
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let parsed_ips = IpAllowlist::parse(&trusted_ips);
    let parsed_rate = parse_per_minute(&rate_limit);
    let (allowlist, rate) = match (parsed_ips, parsed_rate) {
        (Ok(list), Ok(rate)) => (list, rate),
        (ips, rate) => {
            let mut page = ips_page(&user, &draft, &key_type, trusted_ips);
            (page.line_errors, page.more_line_errors) =
                first_line_errors(ips.err().unwrap_or_default());
            page.rate_error = rate.err();
            page.rate_limit = rate_limit;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };

    let key = NewApiKey::generate(&key_type.code);
    let now = db::now();
    let row = NewKeyRow::new(
        &key,
        key_type.scheme,
        &state.hasher,
        &state.secret_box,
        KeyDetails {
            name: draft.name.clone(),
            contact_email: draft.contact_email.clone(),
            allowed_ips: allowlist.to_stored(),
            created_by: Some(user.id.clone()),
            created_at: now,
            expires_at: draft.expires_at,
            rate_limit: rate.map(|n| n as i32),
        },
    )
    .in_application(&draft.application_id);
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::KEY_CREATED,
        key_id: Some(row.id.clone()),
        client_ip: client_ip(&req),
        detail: format!(
            "{} ({}); trusted IPs: {}",
            row.name,
            row.type_code,
            allowlist.summary()
        ),
    };
    let restricted = !row.allowed_ips.is_empty();
    let verify_row = VerifyRow::from(&row);
    let (draft_id, user_id, limit) = (draft.id.clone(), user.id.clone(), key_type.max_active);
    let outcome = state
        .db(move |conn| {
            Ok(keys::insert_generated(
                conn, &row, &draft_id, &user_id, limit, &event,
            ))
        })
        .await?;
    match outcome {
        Ok(()) => state.verifier.apply(verify_row, now),
        Err(GenerateError::DraftUsed) => {
            session::set_flash(&session, Flash::info(ALREADY_GENERATED))?;
            return Ok(see_other(LIST));
        }
        Err(GenerateError::LimitReached(limit)) => {
            let mut page = ips_page(&user, &draft, &key_type, trusted_ips);
            page.limit_error = Some(limit_reached(&key_type, limit));
            return render(StatusCode::CONFLICT, &page);
        }
        Err(GenerateError::ApplicationClosed) => {
            let mut page = ips_page(&user, &draft, &key_type, trusted_ips);
            page.limit_error = Some(
                "The Application this key was for was archived meanwhile: no key can be generated \
                 in it. Start again from Generate API Key."
                    .to_owned(),
            );
            return render(StatusCode::CONFLICT, &page);
        }
        Err(GenerateError::Db(e)) => return Err(e.into()),
    }

    log::info!(
        "API key {} ({}) generated by {}",
        key.public_id,
        key_type.code,
        user.email
    );
    // The default first page never fails to read.
    let (Ok(mut list) | Err(mut list)) = super::list::load(&state, &user, &[]).await?;
    list.chrome.flash = Some(Flash::success(format!(
        "API key “{}” was generated.",
        draft.name
    )));
    list.revealed = Some(Revealed::new(
        &req,
        &state,
        &key,
        draft.name,
        key_type.name,
        key_type.scheme,
        restricted,
    ));
    render(StatusCode::CREATED, &list)
}

//! `latchkey users add|list|set-role|disable|enable|invite|reset-2fa|unlock` and `latchkey keys expiring`.

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use validator::ValidateEmail;

use crate::config::{OutputFormat, StorageArgs, UsersCommand};
use crate::db::audit::{self, AuditEvent, action};
use crate::db::{self, DatabaseLocation, expiring, invitations, users};
use crate::domain::key_type::Catalogue;
use crate::domain::password;
use crate::domain::role::Role;
use crate::domain::user_access::AccessChange;

pub fn users(storage: &StorageArgs, command: UsersCommand) -> anyhow::Result<()> {
    let location = DatabaseLocation::parse(&storage.database_url)?;
    let pool = db::connect(&location, 1, storage.db_wait())?;
    let mut conn = pool.get().context("opening the database")?;
    match command {
        UsersCommand::Add { email, role } => {
            let email = email.trim().to_lowercase();
            if email.len() > 254 || !email.validate_email() {
                bail!("“{email}” is not a valid email address");
            }
            let role: Role = role.parse()?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let pass = line.trim_end_matches(['\r', '\n']);
            password::check_policy(pass)?;
            let id = db::new_row_id();
            let hash = password::hash(pass);
            let new_user = users::NewUser {
                id: &id,
                email: &email,
                password_hash: &hash,
                role: role.as_str(),
                disabled: false,
                created_at: db::now(),
            };
            db::write_transaction(&mut conn, |conn| {
                users::insert(conn, &new_user)?;
                audit::record(
                    conn,
                    &AuditEvent {
                        actor_email: Some("command line".into()),
                        action: action::USER_CREATED,
                        detail: format!("{email} as {}", role.label()),
                        ..AuditEvent::default()
                    },
                )
            })
            .map_err(|e| {
                if users::email_taken(&e) {
                    anyhow::anyhow!("a user with the email {email} already exists")
                } else {
                    anyhow::Error::new(e).context("adding the user")
                }
            })?;
            println!("Added {email} as {}.", role.label());
        }
        UsersCommand::SetRole { email, role } => {
            change_access(&mut conn, &email, AccessChange::SetRole(role.parse()?))?;
        }
        UsersCommand::Disable { email } => {
            change_access(&mut conn, &email, AccessChange::Disable)?;
        }
        UsersCommand::Enable { email } => {
            change_access(&mut conn, &email, AccessChange::Enable)?;
        }
        UsersCommand::Reset2fa { email } => {
            let email = email.trim().to_lowercase();
            let actor = AuditEvent {
                actor_email: Some("command line".into()),
                ..AuditEvent::default()
            };
            match users::reset_sign_in(&mut conn, &email, users::SignInReset::TwoFactor, &actor) {
                Ok(detail) => println!("{detail}."),
                Err(users::AccessError::Database(e)) => {
                    return Err(anyhow::Error::new(e).context("resetting two-factor"));
                }
                Err(refused) => bail!("{refused}"),
            }
        }
        UsersCommand::Invite {
            email,
            role,
            public_url,
        } => invite(&mut conn, &email, &role, public_url.as_deref())?,
        UsersCommand::Unlock { email, address } => {
            let email = email.trim().to_lowercase();
            let address = address.map(|a| a.to_string());
            let cleared = db::write_transaction(&mut conn, |conn| {
                let cleared = db::throttle::unlock(conn, &email, address.as_deref())?;
                let detail = match &address {
                    Some(address) => {
                        format!("sign-in pauses lifted for {email} and for the address {address}")
                    }
                    None => format!("sign-in pauses lifted for {email}"),
                };
                audit::record(
                    conn,
                    &AuditEvent {
                        actor_email: Some("command line".into()),
                        action: action::UNLOCKED,
                        client_ip: address.clone(),
                        detail: format!("{detail} ({cleared} counters reset)"),
                        ..AuditEvent::default()
                    },
                )?;
                Ok::<_, diesel::result::Error>(cleared)
            })?;
            match cleared {
                0 => println!("{email}: nothing was paused."),
                n => println!("{email}: sign-in pauses lifted ({n} counters reset)."),
            }
        }
        UsersCommand::List => {
            let all = users::list(&mut conn)?;
            if all.is_empty() {
                println!(
                    "No users yet. Start the console and open the setup link it prints, or run `latchkey users add`."
                );
            }
            for user in all {
                let role = user
                    .role
                    .parse::<Role>()
                    .map(Role::label)
                    .unwrap_or("unknown role");
                let state = if user.disabled { "  (disabled)" } else { "" };
                println!(
                    "{:<40} {:<14} added {}{state}",
                    user.email,
                    role,
                    user.created_at.format("%Y-%m-%d")
                );
            }
        }
    }
    Ok(())
}

/// Changes a user's role or disabled flag and records it, under the rule
/// that the last active Administrator remains.
fn change_access(conn: &mut db::DbConn, email: &str, change: AccessChange) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    let actor = AuditEvent {
        actor_email: Some("command line".into()),
        ..AuditEvent::default()
    };
    match users::change_access(conn, &email, change, &actor) {
        Ok(detail) => {
            println!("{detail}.");
            Ok(())
        }
        Err(users::AccessError::Database(e)) => {
            Err(anyhow::Error::new(e).context("changing the user"))
        }
        Err(refused) => bail!("{email}: {refused}"),
    }
}

/// `latchkey users invite`: stores the invitation and prints its link.
fn invite(
    conn: &mut db::DbConn,
    email: &str,
    role: &str,
    public_url: Option<&str>,
) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !email.validate_email() {
        bail!("“{email}” is not a valid email address");
    }
    let role: Role = role.parse()?;
    let token = crate::domain::token::random_token();
    let now = db::now();
    let invitation = invitations::Invitation {
        email: email.clone(),
        role: role.as_str().to_owned(),
        token_hash: crate::domain::crypto::sha256_hex(&token),
        invited_by: None,
        created_at: now,
        expires_at: now + crate::web::users::invite::LIFETIME,
    };
    let event = AuditEvent {
        actor_email: Some("command line".into()),
        action: action::USER_INVITED,
        detail: format!("{email} invited as {}", role.label()),
        ..AuditEvent::default()
    };
    match invitations::invite(conn, &invitation, &event) {
        Ok(()) => {}
        Err(invitations::InviteError::Database(e)) => {
            return Err(anyhow::Error::new(e).context("storing the invitation"));
        }
        Err(refused) => bail!("{refused}"),
    }
    let path = format!("/invitations/accept?token={token}");
    println!(
        "Invited {email} as {}. Pass on this link; it works once, for 72 hours:",
        role.label()
    );
    match public_url {
        Some(url) => println!("{}{path}", url.trim_end_matches('/')),
        None => {
            println!("{path}\n(after the console's address; give --public-url to print it whole)")
        }
    }
    Ok(())
}

/// Keys read per query by `keys expiring`: memory stays flat at any number.
const EXPIRING_PAGE: i64 = 500;

/// `latchkey keys expiring`: prints the live keys expiring within `within`
/// from now, soonest first, and returns how many there were. Never a secret:
/// the key's visible start (`lk_<type>_<Key ID>`), type, name, contact email and expiry.
pub fn keys_expiring(
    storage: &StorageArgs,
    catalogue: &Catalogue,
    within: chrono::Duration,
    format: OutputFormat,
) -> anyhow::Result<u64> {
    let location = DatabaseLocation::parse(&storage.database_url)?;
    let pool = db::connect(&location, 1, storage.db_wait())?;
    let mut conn = pool.get().context("opening the database")?;
    let now = db::now();
    let window = expiring::Window::new(catalogue, now, within);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut listed = 0u64;
    let mut after = None;
    loop {
        let page = expiring::page(&mut conn, &window, after.take(), EXPIRING_PAGE)
            .context("reading the keys")?;
        for key in &page {
            match format {
                OutputFormat::Text => {
                    if listed == 0 {
                        writeln!(
                            out,
                            "{:<16}  {:<28}  {:<12}  NAME <CONTACT>",
                            "EXPIRES (UTC)", "KEY", "TYPE"
                        )?;
                    }
                    writeln!(
                        out,
                        "{:<16}  {:<28}  {:<12}  {} <{}>",
                        key.expires_at.format("%Y-%m-%d %H:%M"),
                        format!("lk_{}_{}", key.type_code, key.id),
                        key.type_code,
                        printable(&key.name),
                        printable(&key.contact_email)
                    )?;
                }
                OutputFormat::Json => {
                    let object = serde_json::to_string(&ExpiringJson {
                        key_id: &key.id,
                        key_prefix: format!("lk_{}_{}", key.type_code, key.id),
                        type_code: &key.type_code,
                        name: &key.name,
                        contact_email: &key.contact_email,
                        expires_at: key
                            .expires_at
                            .and_utc()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    })?;
                    write!(
                        out,
                        "{}{object}",
                        if listed == 0 { "[\n  " } else { ",\n  " }
                    )?;
                }
            }
            listed += 1;
        }
        match page.last() {
            Some(last) if page.len() as i64 == EXPIRING_PAGE => {
                after = Some((last.expires_at, last.id.clone()));
            }
            _ => break,
        }
    }
    let window_text = format!("within {}", describe(within));
    match (format, listed) {
        (OutputFormat::Json, 0) => writeln!(out, "[]")?,
        (OutputFormat::Json, _) => writeln!(out, "\n]")?,
        (OutputFormat::Text, 0) => writeln!(out, "No live key expires {window_text}.")?,
        (OutputFormat::Text, 1) => writeln!(out, "1 live key expires {window_text}.")?,
        (OutputFormat::Text, n) => writeln!(out, "{n} live keys expire {window_text}.")?,
    }
    out.flush()?;
    Ok(listed)
}

/// One key in `keys expiring --format json`, its fields in this order.
#[derive(serde::Serialize)]
struct ExpiringJson<'a> {
    /// The Key ID, as the console shows it.
    key_id: &'a str,
    /// The key's visible start, `lk_<type>_<id>`.
    key_prefix: String,
    #[serde(rename = "type")]
    type_code: &'a str,
    name: &'a str,
    contact_email: &'a str,
    expires_at: String,
}

/// `14 days`, `12 hours`: the window in words.
fn describe(within: chrono::Duration) -> String {
    let hours = within.num_hours();
    let (n, unit) = if hours % 24 == 0 {
        (hours / 24, "day")
    } else {
        (hours, "hour")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Text for a terminal: control characters (which could move the cursor or
/// change colours) shown as `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

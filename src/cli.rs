//! `latchkey users add|list`.

use std::io::BufRead;

use anyhow::{Context, bail};
use validator::ValidateEmail;

use crate::config::{StorageArgs, UsersCommand};
use crate::db::audit::{self, AuditEvent, action};
use crate::db::{self, DatabaseLocation, users};
use crate::domain::password;
use crate::domain::role::Role;

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

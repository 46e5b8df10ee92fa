//! Every setting: its flag, environment variable and default, in one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::domain::two_factor::Policy;

pub const DEFAULT_DATABASE_URL: &str = "data/latchkey.db";

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: a self-hosted console for issuing, restricting and checking API keys.",
    long_about = "Latchkey: a self-hosted console for issuing, restricting and checking API keys.\n\n\
                  Without a subcommand it runs `serve`."
)]
pub struct Cli {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web console (the default).
    Serve,
    /// Add or list console users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Development tools: never run these against a production database.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Look at keys from the command line (never their secrets).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the live keys that expire within a window of time, soonest first:
    /// Key ID, type, name, contact email and expiry (UTC). Keys of switched-off
    /// types are left out. Exits 1 when any key is listed, 0 when none is, and
    /// 2 when the check could not be made (bad options, an unreachable database).
    Expiring {
        /// How far ahead to look: a whole number and a unit, such as 14d (days),
        /// 12h (hours) or 2w (weeks); at most 3650d.
        #[arg(long, default_value = "14d", value_parser = crate::domain::expiry::parse_window)]
        within: chrono::Duration,
        /// text (a table for people) or json (an array of objects).
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with realistic made-up keys of every type (a third
    /// with trusted IPs, some expired, deleted or never used, with usage
    /// counts) for trying the console and measuring it at scale. Refused on a
    /// database holding keys it did not make, unless --force.
    Seed {
        /// How many keys to add.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        keys: u32,
        /// Add them even though the database has other keys.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input (one line).
    Add {
        /// The user's email address, used to sign in.
        #[arg(long)]
        email: String,
        /// administrator, support or viewer.
        #[arg(long)]
        role: String,
    },
    /// List users with their roles.
    List,
    /// Change a user's role; it applies to their very next request.
    SetRole {
        #[arg(long)]
        email: String,
        /// administrator, support or viewer.
        #[arg(long)]
        role: String,
    },
    /// Stop a user signing in; they are signed out on their next request.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Invite someone: prints a one-time link, valid 72 hours, to pass on.
    Invite {
        #[arg(long)]
        email: String,
        /// administrator, support or viewer.
        #[arg(long)]
        role: String,
        /// The console's address as its users reach it, e.g. https://keys.example.com.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Turn a user's two-factor sign-in off (secret and recovery codes) and
    /// end their sessions, for someone who lost their device: they sign in
    /// with their password and set it up again.
    #[command(name = "reset-2fa")]
    Reset2fa {
        #[arg(long)]
        email: String,
    },
    /// Lift the sign-in pauses on an account (from every address), and on a
    /// client address if given. Addresses the account signed in from stay known.
    Unlock {
        #[arg(long)]
        email: String,
        /// Also lift the pause on this client address (for all accounts).
        #[arg(long)]
        address: Option<std::net::IpAddr>,
    },
}

/// Where data and the server's own secrets live. Shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// SQLite database file (a path or sqlite://path). Created on first start.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// File holding the session key, key pepper and encryption key (mode 0600).
    /// Generated on first start. Default: the database path with `.secrets` appended.
    /// Ignored when LATCHKEY_SESSION_KEY, LATCHKEY_KEY_PEPPER and LATCHKEY_ENCRYPTION_KEY are set.
    #[arg(long, env = "LATCHKEY_SECRETS_FILE", global = true)]
    pub secrets_file: Option<PathBuf>,

    /// Most database connections kept open.
    #[arg(long, env = "LATCHKEY_POOL_SIZE", default_value_t = 8, global = true)]
    pub pool_size: u32,

    /// Seconds a request waits for a database connection before it gets a
    /// "temporarily unavailable" (503) page.
    #[arg(long, env = "LATCHKEY_DB_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub db_timeout: u64,
}

impl StorageArgs {
    pub fn db_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.db_timeout)
    }
}

/// How `serve` runs. Global, so they may come before or after `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "LATCHKEY_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// The URL people use to reach the console, for the links it prints.
    /// Default: http://<bind address>.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// A key type catalogue (TOML) replacing the built-in one; see src/key_types.toml.
    #[arg(long, env = "LATCHKEY_KEY_TYPES", global = true)]
    pub key_types: Option<PathBuf>,

    /// Proxies (addresses or CIDR ranges, comma separated) whose X-Forwarded-For
    /// header tells the client's address. Without any, the header is ignored.
    #[arg(
        long,
        env = "LATCHKEY_TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: String,

    /// The console is reached over HTTPS (directly or through a TLS-terminating
    /// proxy): session cookies get `Secure` and a `__Host-` name, and pages send
    /// Strict-Transport-Security.
    #[arg(long, env = "LATCHKEY_HTTPS", global = true)]
    pub https: bool,

    /// Minutes a signed-in session may sit unused before it ends.
    #[arg(long, env = "LATCHKEY_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440), global = true)]
    pub session_idle_minutes: u32,

    /// Hours a session lasts however busy it is; then sign in again.
    #[arg(long, env = "LATCHKEY_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720), global = true)]
    pub session_max_hours: u32,

    /// Threads that check passwords (argon2, 19 MiB and tens of milliseconds
    /// each). Sign-ins beyond what they can queue get a "busy" page at once.
    /// Default: half the CPU cores, at least one.
    #[arg(long, env = "LATCHKEY_PASSWORD_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64), global = true)]
    pub password_workers: Option<u16>,

    /// HTTP worker threads. Default: one per CPU core.
    #[arg(long, env = "LATCHKEY_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// What a secret scanner's report of a live key does: `disable` switches
    /// it off at once; `flag` only marks it leaked (it keeps working).
    #[arg(long, env = "LATCHKEY_LEAKED_KEYS", value_enum, default_value_t = LeakedKeys::Disable, global = true)]
    pub leaked_keys: LeakedKeys,

    /// GitHub's secret-scanning public keys, as GitHub publishes them
    /// ({"public_keys": [...]}). With this or --github-public-keys-url,
    /// POST /api/v1/secret-scanning/github accepts GitHub's signed reports.
    #[arg(long, env = "LATCHKEY_GITHUB_PUBLIC_KEYS", global = true)]
    pub github_public_keys: Option<PathBuf>,

    /// Where to fetch GitHub's secret-scanning public keys
    /// (https://api.github.com/meta/public_keys/secret_scanning); plain http
    /// only to a loopback address. Added to the keys of --github-public-keys.
    #[arg(long, env = "LATCHKEY_GITHUB_PUBLIC_KEYS_URL", global = true)]
    pub github_public_keys_url: Option<String>,

    /// Minutes between fetches of --github-public-keys-url. A report signed
    /// by an unknown key fetches sooner, at most once a minute.
    #[arg(long, env = "LATCHKEY_GITHUB_PUBLIC_KEYS_REFRESH_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=10_080), global = true)]
    pub github_public_keys_refresh_minutes: u32,

    /// File holding the token GitLab sends in `Authorization` to
    /// /api/v1/gitlab/v1/... (its secret_detection_token_revocation_token;
    /// at least 32 characters). Without it those endpoints answer 404.
    #[arg(long, env = "LATCHKEY_GITLAB_REVOCATION_TOKEN_FILE", global = true)]
    pub gitlab_revocation_token_file: Option<PathBuf>,

    /// Who must sign in with a two-factor code (TOTP): administrators,
    /// everyone or nobody. A user it covers who has not set two-factor up is
    /// sent to set it up right after their password, and can do nothing else
    /// until it is done.
    #[arg(long = "require-2fa", env = "LATCHKEY_REQUIRE_2FA", default_value = "administrators", value_parser = parse_policy, global = true)]
    pub require_2fa: Policy,

    /// Requests a minute the GitLab revocation API takes (per instance)
    /// before answering 429.
    #[arg(long, env = "LATCHKEY_GITLAB_REVOCATION_RATE_LIMIT", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub gitlab_revocation_rate_limit: u32,
}

/// What a leak report of a live key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LeakedKeys {
    /// Switch the key off and mark it leaked.
    Disable,
    /// Mark it leaked; it keeps working until someone acts.
    Flag,
}

fn parse_policy(value: &str) -> Result<Policy, String> {
    value.parse().map_err(|e| format!("{e}"))
}

impl ServeArgs {
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

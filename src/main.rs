use std::process::ExitCode;

use clap::Parser;
use latchkey::config::{Cli, Command};
use latchkey::{cli, startup};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Cli::parse();
    let result = match args.command {
        None | Some(Command::Serve) => startup::serve(args.storage, args.serve),
        Some(Command::Users(command)) => cli::users(&args.storage, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: {e:#}");
            ExitCode::FAILURE
        }
    }
}

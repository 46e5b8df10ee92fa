//! Applications: every key belongs to one (as Talon.One's keys do). What
//! verification holds of an Application is shared by all its keys in memory,
//! so archiving or renaming it reaches every key at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// The Application every deployment starts with, and every earlier key is in.
pub const DEFAULT_ID: &str = "default";
/// Longest Application name, in characters.
pub const MAX_NAME: usize = 60;

/// An Application as the verifier holds it.
#[derive(Debug)]
pub struct Application {
    id: Box<str>,
    name: RwLock<Arc<str>>,
    archived: AtomicBool,
}

impl Application {
    pub fn new(id: &str, name: &str, archived: bool) -> Application {
        Application {
            id: id.into(),
            name: RwLock::new(name.into()),
            archived: AtomicBool::new(archived),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> Arc<str> {
        self.name.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Archived: its keys answer DISABLED.
    pub fn is_archived(&self) -> bool {
        self.archived.load(Ordering::Relaxed)
    }

    /// Takes in the stored name and state.
    pub fn update(&self, name: &str, archived: bool) {
        self.archived.store(archived, Ordering::Relaxed);
        let mut current = self.name.write().unwrap_or_else(|p| p.into_inner());
        if &**current != name {
            *current = name.into();
        }
    }

    /// Whether a gateway's expected Application is this one: its id, or its
    /// name in any case (surrounding spaces ignored).
    pub fn is_named(&self, expected: &str) -> bool {
        let expected = expected.trim();
        expected == &*self.id || expected.to_lowercase() == self.name().to_lowercase()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter a name.")]
    Empty,
    #[error("Use at most {MAX_NAME} characters.")]
    TooLong,
    #[error("Use letters, digits, spaces and punctuation only.")]
    Control,
}

/// An Application name as typed, checked and trimmed.
pub fn check_name(typed: &str) -> Result<String, NameError> {
    let name = typed.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME {
        return Err(NameError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_names_an_application_by_id_or_by_name_in_any_case() {
        let app = Application::new("app_1", "Partner Sandbox", false);
        assert_eq!((app.id(), &*app.name()), ("app_1", "Partner Sandbox"));
        for (expected, named) in [
            ("app_1", true),
            ("Partner Sandbox", true),
            ("partner sandbox", true),
            ("  PARTNER SANDBOX ", true),
            ("APP_1", false),
            ("Partner", false),
            ("", false),
            ("default", false),
        ] {
            assert_eq!(app.is_named(expected), named, "{expected:?}");
        }
    }

    #[test]
    fn an_update_renames_and_archives_for_every_holder() {
        let app = Arc::new(Application::new("app_1", "Sandbox", false));
        let held_by_a_key = app.clone();
        app.update("Partner sandbox", true);
        assert_eq!(&*held_by_a_key.name(), "Partner sandbox");
        assert!(held_by_a_key.is_archived());
        app.update("Partner sandbox", false);
        assert!(!held_by_a_key.is_archived());
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        let sixty = "a".repeat(60);
        let sixty_one = "é".repeat(61);
        for (typed, checked) in [
            ("  Partner sandbox ", Ok("Partner sandbox".to_owned())),
            ("", Err(NameError::Empty)),
            ("   ", Err(NameError::Empty)),
            (sixty.as_str(), Ok(sixty.clone())),
            (sixty_one.as_str(), Err(NameError::TooLong)),
            ("Tab\there", Err(NameError::Control)),
        ] {
            assert_eq!(check_name(typed), checked, "{typed:?}");
        }
    }
}

//! Changes to who may use the console, and the rule that one active
//! Administrator always remains: without one, nobody could manage users or
//! keys from the console again.

use crate::domain::role::Role;

/// One change to a user's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChange {
    SetRole(Role),
    Disable,
    Enable,
    Delete,
}

/// A user's access as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this is the last active Administrator: make another user an Administrator first, so someone can still manage the console"
)]
pub struct LastAdministrator;

impl Standing {
    fn is_active_administrator(self) -> bool {
        self.role == Role::Administrator && !self.disabled
    }

    /// The standing after `change`; `None` once the user is deleted.
    pub fn after(self, change: AccessChange) -> Option<Standing> {
        match change {
            AccessChange::SetRole(role) => Some(Standing { role, ..self }),
            AccessChange::Disable => Some(Standing {
                disabled: true,
                ..self
            }),
            AccessChange::Enable => Some(Standing {
                disabled: false,
                ..self
            }),
            AccessChange::Delete => None,
        }
    }
}

/// Whether `change` to a user standing as `target` may go ahead when
/// `active_administrators` (not disabled, the target among them if it is one)
/// can use the console now. Refused only when it would leave none.
pub fn check(
    active_administrators: usize,
    target: Standing,
    change: AccessChange,
) -> Result<(), LastAdministrator> {
    let stays = target
        .after(change)
        .is_some_and(Standing::is_active_administrator);
    if target.is_active_administrator() && !stays && active_administrators <= 1 {
        return Err(LastAdministrator);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessChange::*;
    use Role::*;

    const ACTIVE_ADMIN: Standing = Standing {
        role: Administrator,
        disabled: false,
    };
    const DISABLED_ADMIN: Standing = Standing {
        role: Administrator,
        disabled: true,
    };
    const SUPPORT: Standing = Standing {
        role: Support,
        disabled: false,
    };
    const DISABLED_VIEWER: Standing = Standing {
        role: Viewer,
        disabled: true,
    };

    #[test]
    fn the_last_active_administrator_always_remains() {
        // (active administrators, target, change, allowed)
        let table = [
            (1, ACTIVE_ADMIN, SetRole(Support), false),
            (1, ACTIVE_ADMIN, SetRole(Viewer), false),
            (1, ACTIVE_ADMIN, Disable, false),
            (1, ACTIVE_ADMIN, Delete, false),
            (1, ACTIVE_ADMIN, SetRole(Administrator), true),
            (1, ACTIVE_ADMIN, Enable, true),
            (2, ACTIVE_ADMIN, SetRole(Viewer), true),
            (2, ACTIVE_ADMIN, Disable, true),
            (2, ACTIVE_ADMIN, Delete, true),
            (1, DISABLED_ADMIN, Delete, true),
            (1, DISABLED_ADMIN, SetRole(Viewer), true),
            (0, DISABLED_ADMIN, Enable, true),
            (1, SUPPORT, Disable, true),
            (1, SUPPORT, Delete, true),
            (1, SUPPORT, SetRole(Administrator), true),
            (0, SUPPORT, SetRole(Viewer), true),
            (0, DISABLED_VIEWER, Enable, true),
            (1, DISABLED_VIEWER, Delete, true),
        ];
        for (admins, target, change, allowed) in table {
            assert_eq!(
                check(admins, target, change).is_ok(),
                allowed,
                "{admins} active administrators, {target:?}, {change:?}"
            );
        }
    }

    #[test]
    fn changes_give_the_standing_they_name() {
        let table = [
            (SUPPORT, SetRole(Administrator), Some(ACTIVE_ADMIN)),
            (ACTIVE_ADMIN, Disable, Some(DISABLED_ADMIN)),
            (DISABLED_ADMIN, Enable, Some(ACTIVE_ADMIN)),
            (SUPPORT, Delete, None),
        ];
        for (before, change, after) in table {
            assert_eq!(before.after(change), after, "{before:?} {change:?}");
        }
    }
}

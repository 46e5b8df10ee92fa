//! Roles and the one table that says which role may do what.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Administrator,
    Support,
    Viewer,
}

/// Everything the console lets someone do, one variant per capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the key list (masked keys only).
    ViewKeys,
    /// Open a key's detail page: contact, IP list, creator.
    ViewKeyDetails,
    /// Generate and delete keys.
    ManageKeys,
    /// Read the audit log and export it.
    ViewAudit,
    /// See everyone who may sign in, change their roles, disable and enable them.
    ManageUsers,
}

impl Permission {
    /// What the permission lets someone do, to finish "Only … can".
    pub fn words(self) -> &'static str {
        match self {
            Permission::ViewKeys => "see the key list",
            Permission::ViewKeyDetails => "open a key's details",
            Permission::ManageKeys => "generate and change keys",
            Permission::ViewAudit => "read the audit log",
            Permission::ManageUsers => "manage users",
        }
    }

    /// Who may do this, in a sentence, from the permission table: for a
    /// page someone's role does not open.
    pub fn who_can(self) -> String {
        let roles: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|role| role.can(self))
            .map(Role::plural)
            .collect();
        let who = match roles.as_slice() {
            [] => "nobody".to_owned(),
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        };
        format!("Only {who} can {}.", self.words())
    }

    pub const ALL: [Permission; 5] = [
        Permission::ViewKeys,
        Permission::ViewKeyDetails,
        Permission::ManageKeys,
        Permission::ViewAudit,
        Permission::ManageUsers,
    ];
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Administrator, Role::Support, Role::Viewer];

    /// The permission table. Every route asks this function, through the route table.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Administrator => true,
            Role::Support => matches!(permission, ViewKeys | ViewKeyDetails | ViewAudit),
            Role::Viewer => matches!(permission, ViewKeys),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }

    /// The role's people, as a sentence names them.
    pub fn plural(self) -> &'static str {
        match self {
            Role::Administrator => "Administrators",
            Role::Support => "Support staff",
            Role::Viewer => "Viewers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Support => "Support",
            Role::Viewer => "Viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role “{0}”: use administrator, support or viewer")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn who_can_reads_as_written() {
        #[rustfmt::skip]
        let table = [
            (ManageKeys, "Only Administrators can generate and change keys."),
            (ViewAudit, "Only Administrators and Support staff can read the audit log."),
            (ViewKeyDetails, "Only Administrators and Support staff can open a key's details."),
            (ViewKeys, "Only Administrators, Support staff and Viewers can see the key list."),
        ];
        for (permission, sentence) in table {
            assert_eq!(permission.who_can(), sentence);
        }
    }

    #[test]
    fn the_permission_table_matches_the_product_rules() {
        let expected = [
            (Role::Administrator, [true, true, true, true, true]),
            (Role::Support, [true, true, false, true, false]),
            (Role::Viewer, [true, false, false, false, false]),
        ];
        for (role, row) in expected {
            for (permission, allowed) in Permission::ALL.into_iter().zip(row) {
                assert_eq!(role.can(permission), allowed, "{role} / {permission:?}");
            }
        }
    }

    #[test]
    fn only_administrators_manage_keys() {
        let managers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.can(ManageKeys))
            .collect();
        assert_eq!(managers, vec![Role::Administrator]);
    }

    #[test]
    fn roles_have_their_stored_names_and_labels() {
        let expected = [
            (Role::Administrator, "administrator", "Administrator"),
            (Role::Support, "support", "Support"),
            (Role::Viewer, "viewer", "Viewer"),
        ];
        for (role, stored, label) in expected {
            assert_eq!(role.as_str(), stored);
            assert_eq!(role.to_string(), stored);
            assert_eq!(role.label(), label);
        }
    }

    #[test]
    fn roles_parse_from_their_names() {
        assert_eq!(
            "Administrator".parse::<Role>().unwrap(),
            Role::Administrator
        );
        assert_eq!(" viewer ".parse::<Role>().unwrap(), Role::Viewer);
        assert!("root".parse::<Role>().is_err());
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
    }
}

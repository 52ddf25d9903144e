//! Practice scenarios: what a presenter can make the practice tenant do, chosen from a menu
//! during an onboarding session instead of environment variables. Each scenario says in one
//! line what it will show, and what it changes: who is suggested on the sign-in page, how
//! slowly Microsoft catches up, the tenant's secret policy, and whether an app made by hand
//! is in the tenant. The shell turns an [`Effect`] into the practice tenant's `/_sim` knobs
//! (core does not know the simulator's types: it is an independent oracle).

use serde::Serialize;

/// One scenario of the menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// Stable id (`"slow"`), used by the menu and the end-to-end tests.
    pub id: &'static str,
    /// The menu entry ("Microsoft is slow today").
    pub title: &'static str,
    /// One line saying what it will show.
    pub shows: &'static str,
    #[serde(skip)]
    pub effect: Effect,
}

/// What a scenario changes in the practice tenant. Every scenario starts from an ordinary
/// day, so choosing one turns the previous one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effect {
    /// Put the tenant back to its seed first (every app AppGrant made is gone).
    pub reset_tenant: bool,
    /// The seeded account the sign-in page suggests (user name before the `@`).
    pub sign_in_as: &'static str,
    /// How long new apps, service principals, secrets and role assignments stay invisible to
    /// the rest of Microsoft's service (0: at once).
    pub replication_ms: u64,
    /// Added to every answer from Microsoft (0: none).
    pub latency_ms: u64,
    /// The tenant's app management policy: longest secret lifetime in days.
    pub secret_max_lifetime_days: Option<u32>,
    /// Put the vendor apps an admin registered by hand from the vendors' guides back into the
    /// tenant (those still missing), to rehearse adopting them.
    pub hand_made_apps: bool,
}

/// The seeded Global Administrator (can do everything).
pub const ADMIN: &str = "avery.admin";
/// The seeded Cloud Application Administrator (cannot grant application permissions).
pub const CLOUD_APP_ADMIN: &str = "casey.cloudapps";
/// The seeded Privileged Role Administrator (grants permissions; no Exchange role).
pub const PRIVILEGED_ROLE_ADMIN: &str = "pat.privileged";

const ORDINARY: Effect = Effect {
    reset_tenant: false,
    sign_in_as: ADMIN,
    replication_ms: 0,
    latency_ms: 0,
    secret_max_lifetime_days: None,
    hand_made_apps: false,
};

/// The id of the scenario the practice tenant starts in.
pub const ORDINARY_ID: &str = "ordinary";

/// The scenario the practice tenant starts in: everything works, the admin signs in.
pub fn ordinary() -> Scenario {
    Scenario {
        id: ORDINARY_ID,
        title: "An ordinary day",
        shows: "Everything works at once; Avery Admin (Global Administrator) signs in.",
        effect: ORDINARY,
    }
}

/// Every scenario, in menu order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        ordinary(),
        Scenario {
            id: "reset",
            title: "Reset the practice tenant",
            shows: "Puts the tenant back as it was first seeded: every app made in practice is gone.",
            effect: Effect {
                reset_tenant: true,
                ..ORDINARY
            },
        },
        Scenario {
            id: "cannot-consent",
            title: "Sign in as someone who cannot consent",
            shows: "Casey, a Cloud Application Administrator, gets a message to forward to a Global Administrator.",
            effect: Effect {
                sign_in_as: CLOUD_APP_ADMIN,
                ..ORDINARY
            },
        },
        Scenario {
            id: "slow",
            title: "Microsoft is slow today",
            shows: "New apps take seconds to reach the rest of Microsoft, so Apply explains each wait.",
            effect: Effect {
                replication_ms: 6_000,
                latency_ms: 150,
                ..ORDINARY
            },
        },
        Scenario {
            id: "no-exchange-admin",
            title: "No Exchange administrator",
            shows: "Pat cannot limit mailboxes, so AppGrant writes the PowerShell for an Exchange administrator.",
            effect: Effect {
                sign_in_as: PRIVILEGED_ROLE_ADMIN,
                ..ORDINARY
            },
        },
        Scenario {
            id: "strict-secret-policy",
            title: "Strict secret policy",
            shows: "The tenant allows secrets of at most 180 days, so Review shortens the lifetime and says why.",
            effect: Effect {
                secret_max_lifetime_days: Some(180),
                ..ORDINARY
            },
        },
        Scenario {
            id: "hand-made-app",
            title: "An app made by hand last year",
            shows: "A TonicDM app someone registered from the vendor's guide, mistakes included, ready to adopt.",
            effect: Effect {
                hand_made_apps: true,
                ..ORDINARY
            },
        },
    ]
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PracticeError {
    #[error("There is no practice scenario \"{0}\".")]
    UnknownScenario(String),
}

/// The scenario with this id.
pub fn scenario(id: &str) -> Result<Scenario, PracticeError> {
    scenarios()
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| PracticeError::UnknownScenario(id.to_string()))
}

impl Scenario {
    /// "Sign in as casey.cloudapps@… (a Cloud Application Administrator)": the practice
    /// sign-in hint for this scenario's account in the tenant `domain`.
    pub fn sign_in_hint(&self, domain: &str) -> String {
        let upn = self.sign_in_upn(domain);
        let who = match self.effect.sign_in_as {
            CLOUD_APP_ADMIN => {
                "a Cloud Application Administrator: it cannot grant application permissions"
            }
            PRIVILEGED_ROLE_ADMIN => "a Privileged Role Administrator: it has no Exchange role",
            _ => "a Global Administrator",
        };
        format!("Sign in as {upn} ({who}). No password is needed in the practice tenant.")
    }

    /// The account the sign-in page suggests.
    pub fn sign_in_upn(&self, domain: &str) -> String {
        format!("{}@{domain}", self.effect.sign_in_as)
    }

    /// Whether choosing it changes who should be signed in (so the current sign-in ends).
    pub fn changes_account(&self, previous: &Scenario) -> bool {
        self.effect.sign_in_as != previous.effect.sign_in_as || self.effect.reset_tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_of_the_issue_is_on_the_menu_with_one_line() {
        let all = scenarios();
        for id in [
            "reset",
            "cannot-consent",
            "slow",
            "no-exchange-admin",
            "strict-secret-policy",
            "hand-made-app",
        ] {
            let s = scenario(id).unwrap();
            assert!(
                !s.shows.contains('\n') && s.shows.ends_with('.'),
                "{id}: one sentence"
            );
        }
        let mut ids: Vec<_> = all.iter().map(|s| s.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "ids are unique");
    }

    #[test]
    fn each_scenario_changes_what_its_line_promises() {
        assert!(scenario("reset").unwrap().effect.reset_tenant);
        assert_eq!(
            scenario("cannot-consent").unwrap().effect.sign_in_as,
            CLOUD_APP_ADMIN
        );
        assert!(
            scenario("slow").unwrap().effect.replication_ms >= 1_000,
            "waits long enough to be seen"
        );
        assert_eq!(
            scenario("no-exchange-admin").unwrap().effect.sign_in_as,
            PRIVILEGED_ROLE_ADMIN
        );
        assert_eq!(
            scenario("strict-secret-policy")
                .unwrap()
                .effect
                .secret_max_lifetime_days,
            Some(180)
        );
        assert!(scenario("hand-made-app").unwrap().effect.hand_made_apps);
        assert_eq!(scenario(ORDINARY_ID).unwrap().effect, ORDINARY);
    }

    #[test]
    fn the_hint_names_the_account_and_what_it_cannot_do() {
        let s = scenario("cannot-consent").unwrap();
        let hint = s.sign_in_hint("contoso.example");
        assert!(
            hint.starts_with("Sign in as casey.cloudapps@contoso.example"),
            "{hint}"
        );
        assert!(hint.contains("cannot grant application permissions"));
        assert!(s.changes_account(&scenario(ORDINARY_ID).unwrap()));
        assert!(!scenario("slow")
            .unwrap()
            .changes_account(&scenario(ORDINARY_ID).unwrap()));
    }

    #[test]
    fn an_unknown_scenario_is_refused_by_name() {
        assert_eq!(
            scenario("sunny").unwrap_err().to_string(),
            "There is no practice scenario \"sunny\"."
        );
    }
}

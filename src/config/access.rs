//! `[[operators]]` and `[permissions]`: who the war room's people are, and which roles may
//! propose and approve each action.
//!
//! ```toml
//! [[operators]]
//! name = "alice"
//! roles = ["commander"]
//! os_user = "alice"            # on a shared host: the OS user who is alice (the name, if not given)
//!
//! [[operators]]
//! name = "dave"
//! roles = ["operator"]
//! key = "RWQ..."               # a remote console: dave's own key (warroom keygen --signing-only);
//!                              # his console names the private half in console.operator_key_file
//!
//! [permissions.failover]       # per action: propose, approve; per tier: tier1..tier4
//! approve = ["commander", "approver"]
//! tier1 = { approve = ["commander"] }
//! ```
//!
//! Without `[[operators]]` nothing is checked (one person at one console). With it, a name not
//! listed is read-only, and so is an observer.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use crate::model::access::{Access, OperatorEntry, Permissions, Role, Roles, Step};
use crate::model::signature::PublicKey;
use crate::model::{Action, Tier};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorWritten {
    pub name: Spanned<String>,
    pub roles: Spanned<Vec<Spanned<String>>>,
    pub os_user: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
}

/// A list of role names as written.
type RolesWritten = Option<Spanned<Vec<Spanned<String>>>>;

pub type PermissionsSection = BTreeMap<Spanned<String>, RuleWritten>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepsWritten {
    pub propose: RolesWritten,
    pub approve: RolesWritten,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleWritten {
    pub propose: RolesWritten,
    pub approve: RolesWritten,
    pub tier1: Option<StepsWritten>,
    pub tier2: Option<StepsWritten>,
    pub tier3: Option<StepsWritten>,
    pub tier4: Option<StepsWritten>,
}

pub fn resolve(
    operators: &[OperatorWritten],
    permissions: &PermissionsSection,
    console_operator: Option<(&str, Option<std::ops::Range<usize>>)>,
    tiers: &[Tier],
    report: &mut Report,
) -> Access {
    let mut access = Access { operators: Vec::new(), permissions: Permissions::default() };
    for (i, o) in operators.iter().enumerate() {
        if let Some(entry) = operator(i, o, &access.operators, report) {
            access.operators.push(entry);
        }
    }
    access.permissions = resolve_permissions(permissions, report);
    if !permissions.is_empty() && operators.is_empty() {
        let first = permissions.keys().next().map(|k| k.span());
        report.push(
            Diagnostic::warning(
                "[permissions] is set but there is no [[operators]] list: nothing is checked",
            )
            .at("permissions", first)
            .help("list the war room's people as [[operators]] (name, roles) for the permissions to apply"),
        );
    }
    if access.enforced() {
        check_someone_may_approve(&access, tiers, operators.first().map(|o| o.name.span()), report);
    }
    if let Some((name, rule)) = permissions.iter().find(|(n, _)| n.get_ref() == "cancel")
        && (rule.approve.is_some()
            || [&rule.tier1, &rule.tier2, &rule.tier3, &rule.tier4]
                .iter()
                .any(|t| t.as_ref().is_some_and(|t| t.approve.is_some())))
    {
        report.push(
            Diagnostic::warning(
                "a cancellation is not approved by someone else: `approve` is not used for cancel",
            )
            .at("permissions.cancel", Some(name.span()))
            .help("who may cancel another's job is `propose`; cancel's approval policy is in [approval]"),
        );
    }
    if let Some((named, span)) = console_operator
        && access.enforced()
        && access.operator(named).is_none()
    {
        report.push(
            Diagnostic::warning(format!(
                "console.operator is \"{named}\", who is not in [[operators]]: this console is read-only"
            ))
            .at("console.operator", span)
            .help("add an [[operators]] entry with that name, or name one who is listed"),
        );
    }
    access
}

/// Every action on a tier the estate has can be approved by someone listed: else a warning
/// naming the role nobody holds.
fn check_someone_may_approve(
    access: &Access,
    tiers: &[Tier],
    span: Option<std::ops::Range<usize>>,
    report: &mut Report,
) {
    let held = access.operators.iter().fold(Roles::NONE, |all, o| all.union(o.roles));
    for action in Action::ALL.into_iter().filter(|a| *a != Action::Cancel) {
        let stuck: Vec<Tier> = tiers
            .iter()
            .copied()
            .filter(|t| !access.permissions.allowed(action, *t, Step::Approve).meets(held))
            .collect();
        if let Some(first) = stuck.first() {
            let needs = access.permissions.allowed(action, *first, Step::Approve);
            let stuck: Vec<String> = stuck.iter().map(|t| t.to_string()).collect();
            report.push(
                Diagnostic::warning(format!(
                    "nobody in [[operators]] may approve a {} on {}: it needs {}",
                    action.name(),
                    stuck.join(", "),
                    needs.either()
                ))
                .at("operators", span.clone())
                .help("give someone that role, or change [permissions]"),
            );
        }
    }
}

/// A two-person approval needs two listed people who may each approve it: else a warning
/// naming who could (one, or nobody, which `check_someone_may_approve` already says).
pub fn check_two_people_may_approve(
    access: &Access,
    two_person: &[(Action, Tier, String)],
    span: Option<std::ops::Range<usize>>,
    report: &mut Report,
) {
    let mut said = Vec::new();
    for (action, tier, from) in two_person {
        let needs = access.permissions.allowed(*action, *tier, Step::Approve);
        let may: Vec<&str> =
            access.operators.iter().filter(|o| o.roles.meets(needs)).map(|o| o.name.as_str()).collect();
        if may.len() == 1 && !said.contains(&(*action, *tier)) {
            said.push((*action, *tier));
            report.push(
                Diagnostic::warning(format!(
                    "a {} on {tier} needs two people's approval ({from}), and only {} in [[operators]] may approve it ({})",
                    action.name(),
                    may[0],
                    needs.either()
                ))
                .at("operators", span.clone())
                .help("give a second person that role, or change the approval policy"),
            );
        }
    }
}

fn operator(
    i: usize,
    o: &OperatorWritten,
    known: &[OperatorEntry],
    report: &mut Report,
) -> Option<OperatorEntry> {
    let key = |k: &str| format!("operators[{i}].{k}");
    let name = o.name.get_ref().trim();
    if name.is_empty() {
        report.push(Diagnostic::error("an operator needs a name").at(key("name"), Some(o.name.span())));
        return None;
    }
    if crate::model::access::CONFIGURED.contains(&name) {
        report.push(
            Diagnostic::error(format!("\"{name}\" is the name of the work warroom starts itself"))
                .at(key("name"), Some(o.name.span()))
                .help("give the person another name: work under this one is never checked"),
        );
        return None;
    }
    if known.iter().any(|k| k.name == name) {
        report.push(
            Diagnostic::error(format!("operator \"{name}\" is listed twice"))
                .at(key("name"), Some(o.name.span()))
                .help("one [[operators]] entry per person; give it every role they hold"),
        );
        return None;
    }
    let mut roles = Vec::new();
    for r in o.roles.get_ref() {
        match Role::parse(r.get_ref()) {
            Ok(role) => roles.push(role),
            Err(m) => {
                let d = Diagnostic::error(m).at(key("roles"), Some(r.span()));
                report.push(match did_you_mean(r.get_ref(), Role::ALL.map(Role::name)) {
                    Some(s) => d.help(format!("did you mean \"{s}\"?")),
                    None => d,
                });
                return None;
            }
        }
    }
    if roles.is_empty() {
        report.push(
            Diagnostic::error(format!("operator \"{name}\" has no role"))
                .at(key("roles"), Some(o.roles.span()))
                .help("give at least one of commander, approver, operator, observer"),
        );
        return None;
    }
    let os_user = match &o.os_user {
        Some(u) if u.get_ref().trim().is_empty() => {
            report.push(Diagnostic::error("os_user is empty").at(key("os_user"), Some(u.span())));
            return None;
        }
        Some(u) => u.get_ref().trim().to_owned(),
        None => name.to_owned(),
    };
    let public = match &o.key {
        None => None,
        Some(k) => match PublicKey::parse(k.get_ref()) {
            Ok(p) => Some(p),
            Err(m) => {
                report.push(
                    Diagnostic::error(format!("operator \"{name}\"'s key: {m}"))
                        .at(key("key"), Some(k.span()))
                        .help("make one with `warroom keygen --signing-only -o FILE` and give the RW... line it prints"),
                );
                return None;
            }
        },
    };
    if let Some(p) = &public
        && let Some(other) = known.iter().find(|k| k.key.as_ref() == Some(p))
    {
        report.push(
            Diagnostic::error(format!("operator \"{name}\" has the same key as \"{}\"", other.name))
                .at(key("key"), o.key.as_ref().map(|k| k.span()))
                .help("a key is one person's: give each their own"),
        );
        return None;
    }
    if public.is_none()
        && let Some(other) = known.iter().find(|k| k.key.is_none() && k.os_user == os_user)
    {
        report.push(
            Diagnostic::error(format!(
                "operators \"{}\" and \"{name}\" are both the OS user \"{os_user}\"",
                other.name
            ))
            .at(key("os_user"), o.os_user.as_ref().map(|u| u.span()).or(Some(o.name.span())))
            .help("one OS user is one person: give each their own os_user, or a key"),
        );
        return None;
    }
    Some(OperatorEntry { name: name.to_owned(), roles: Roles::of(&roles), os_user, key: public })
}

fn resolve_permissions(section: &PermissionsSection, report: &mut Report) -> Permissions {
    let mut permissions = Permissions::default();
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    for (name, rule) in section {
        let Some(action) = Action::ALL.iter().copied().find(|a| a.name() == name.get_ref()) else {
            let d =
                Diagnostic::error(format!("there is no action `{}` to set permissions for", name.get_ref()))
                    .at(format!("permissions.{}", name.get_ref()), Some(name.span()));
            report.push(match did_you_mean(name.get_ref(), actions.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("the actions are: {}", actions.join(", "))),
            });
            continue;
        };
        let mut apply = |propose: &RolesWritten, approve: &RolesWritten, tiers: &[Tier], path: String| {
            for (step, written) in [(Step::Propose, propose), (Step::Approve, approve)] {
                let Some(written) = written else { continue };
                let key = format!("{path}.{}", step.name());
                if let Some(roles) = rule_roles(written, &key, step, report) {
                    for tier in tiers {
                        permissions.set(action, *tier, step, roles);
                    }
                }
            }
        };
        let base = format!("permissions.{}", action.name());
        apply(&rule.propose, &rule.approve, &Tier::ALL, base.clone());
        for (tier, steps) in [
            (Tier::One, &rule.tier1),
            (Tier::Two, &rule.tier2),
            (Tier::Three, &rule.tier3),
            (Tier::Four, &rule.tier4),
        ] {
            if let Some(steps) = steps {
                apply(&steps.propose, &steps.approve, &[tier], format!("{base}.tier{}", tier.number()));
            }
        }
    }
    permissions
}

fn rule_roles(
    written: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    step: Step,
    report: &mut Report,
) -> Option<Roles> {
    let mut roles = Vec::new();
    for r in written.get_ref() {
        match Role::parse(r.get_ref()) {
            Ok(Role::Observer) => {
                report.push(
                    Diagnostic::error(format!("an observer is read-only: it cannot {}", step.name()))
                        .at(key, Some(r.span()))
                        .help("give the person the operator or approver role instead"),
                );
                return None;
            }
            Ok(role) => roles.push(role),
            Err(m) => {
                report.push(Diagnostic::error(m).at(key, Some(r.span())));
                return None;
            }
        }
    }
    if roles.is_empty() {
        report.push(
            Diagnostic::error(format!("nobody could {} this", step.name()))
                .at(key, Some(written.span()))
                .help("name at least one of commander, approver, operator; set console.read_only to refuse everything"),
        );
        return None;
    }
    Some(Roles::of(&roles))
}

#[cfg(test)]
mod tests {
    use crate::config::console::tests::FakeEnv;
    use crate::model::access::{Role, Roles, Step};
    use crate::model::{Action, Tier};
    use std::collections::HashMap;
    use std::path::Path;

    fn load(text: &str) -> Result<crate::config::Config, String> {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        crate::config::load_str(Path::new("/etc/warroom/warroom.toml"), text, &env).map(|l| l.config).map_err(
            |e| match e {
                crate::config::LoadError::Invalid(r) => r.render(false),
                other => other.to_string(),
            },
        )
    }

    const SYSTEMS: &str = "[[systems]]\nname = \"db\"\ntier = 1\n";

    #[test]
    fn operators_and_permissions_are_read() {
        let c = load(&format!(
            r#"
[[operators]]
name = "alice"
roles = ["commander"]

[[operators]]
name = "bob"
roles = ["operator", "approver"]
os_user = "robert"

[permissions.failover]
tier2 = {{ approve = ["commander"] }}
{SYSTEMS}"#
        ))
        .unwrap();
        assert_eq!(c.access.operators.len(), 2);
        let bob = c.access.operator("bob").unwrap();
        assert_eq!(bob.os_user, "robert");
        assert_eq!(bob.roles, Roles::of(&[Role::Approver, Role::Operator]));
        assert_eq!(c.access.operator("alice").unwrap().os_user, "alice");
        let p = &c.access.permissions;
        assert_eq!(p.allowed(Action::Failover, Tier::Two, Step::Approve), Roles::of(&[Role::Commander]));
        assert!(p.allowed(Action::Failover, Tier::Three, Step::Approve).contains(Role::Approver));
    }

    #[test]
    fn a_rule_nobody_listed_can_meet_is_a_warning() {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        let text = format!("[[operators]]\nname = \"a\"\nroles = [\"approver\"]\n{SYSTEMS}");
        let loaded = crate::config::load_str(Path::new("/etc/warroom/warroom.toml"), &text, &env).unwrap();
        let warnings = loaded.report.render(false);
        assert!(
            warnings
                .contains("nobody in [[operators]] may approve a failover on tier 1: it needs a commander"),
            "{warnings}"
        );
        assert!(!warnings.contains("approve a backup"), "{warnings}");
    }

    #[test]
    fn a_two_person_rule_only_one_listed_person_may_meet_is_a_warning() {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        let people = "[[operators]]\nname = \"cara\"\nroles = [\"commander\"]\n\n\
                      [[operators]]\nname = \"oscar\"\nroles = [\"operator\"]\n";
        let warnings = |extra: &str| {
            let text = format!("[approval]\nfailover = \"two-person\"\n\n{people}{extra}{SYSTEMS}");
            let loaded =
                crate::config::load_str(Path::new("/etc/warroom/warroom.toml"), &text, &env).unwrap();
            loaded.report.render(false)
        };
        let one = warnings("");
        assert!(
            one.contains(
                "a failover on tier 1 needs two people's approval ([approval] on tier 1), and only cara in \
                 [[operators]] may approve it (a commander)"
            ),
            "{one}"
        );
        let two = warnings("\n[[operators]]\nname = \"dana\"\nroles = [\"commander\"]\n");
        assert!(!two.contains("two people's approval"), "{two}");
    }

    #[test]
    fn mistakes_name_their_key() {
        let e =
            load(&format!("[[operators]]\nname = \"alice\"\nroles = [\"comander\"]\n{SYSTEMS}")).unwrap_err();
        assert!(e.contains("operators[0].roles") && e.contains("did you mean \"commander\""), "{e}");
        let e = load(&format!(
            "[[operators]]\nname = \"a\"\nroles = [\"operator\"]\n[[operators]]\nname = \"b\"\nroles = [\"operator\"]\nos_user = \"a\"\n{SYSTEMS}"
        ))
        .unwrap_err();
        assert!(e.contains("both the OS user \"a\""), "{e}");
        let e = load(&format!(
            "[[operators]]\nname = \"a\"\nroles = [\"operator\"]\n[permissions.failover]\napprove = [\"observer\"]\n{SYSTEMS}"
        ))
        .unwrap_err();
        assert!(e.contains("permissions.failover.approve") && e.contains("observer is read-only"), "{e}");
        let e = load(&format!(
            "[[operators]]\nname = \"a\"\nroles = [\"operator\"]\nkey = \"RWnope\"\n{SYSTEMS}"
        ))
        .unwrap_err();
        assert!(e.contains("operators[0].key"), "{e}");
        let e = load(&format!("[permissions.failovr]\napprove = [\"commander\"]\n{SYSTEMS}")).unwrap_err();
        assert!(e.contains("did you mean `failover`"), "{e}");
    }
}

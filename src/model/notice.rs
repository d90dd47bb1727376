//! A notice's text: the fields templates see, and the templates (built-in defaults for every
//! stage, audience and channel, and the user's own), rendered strictly: a field a template
//! names that does not exist is an error, found by [`Templates::check`] when the configuration
//! is checked, never at send time.
//!
//! Template names: `{part}` for a built-in default (`subject`, `text`, `html`, `sms`, `chat`),
//! and a user's file `{stage}-{audience}-{part}.j2`, `{stage}-{part}.j2` or `{part}.j2`
//! overrides it for that stage and audience, that stage, or every stage (the most specific
//! wins). HTML parts are escaped automatically.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::comms::{Audience, Stage};

/// One rendered piece of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// The email's subject (one line).
    Subject,
    /// The email's plain-text body, and the file channel's text.
    Text,
    /// The email's HTML body.
    Html,
    Sms,
    Chat,
    /// The status page's entry (one paragraph, external).
    Status,
}

impl Part {
    pub const ALL: [Part; 6] = [Part::Subject, Part::Text, Part::Html, Part::Sms, Part::Chat, Part::Status];

    pub fn name(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "text",
            Part::Html => "html",
            Part::Sms => "sms",
            Part::Chat => "chat",
            Part::Status => "status",
        }
    }
}

/// The incident, as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentFields {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: String,
    /// `2026-12-02 22:04 UTC`
    pub declared_at: String,
    pub commander: String,
}

/// An affected system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedSystem {
    pub name: String,
    pub tier: u8,
    /// `down`, `degraded`, `failing over`, `recovered`...
    pub state: String,
    /// `00:23:10`, or `-00:07:00` once breached; none when not counting.
    pub rto_left: Option<String>,
}

/// Every field a template can use. Times are already written out for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeFields {
    pub incident: IncidentFields,
    pub systems: Vec<AffectedSystem>,
    /// What the public sees of the affected systems (their public names).
    pub components: Vec<String>,
    /// Systems that depend on the affected ones.
    pub impact: Vec<String>,
    /// The least RTO left among the affected systems.
    pub rto_left: Option<String>,
    /// From the recovery plan's forecast.
    pub eta: Option<String>,
    /// `initial`, `update`, `progress`, `resolution`, `post-incident`.
    pub stage: String,
    /// `initial notice`, `status update`...
    pub stage_title: String,
    /// `internal` or `external`.
    pub audience: String,
    pub next_update: Option<String>,
    /// The commander's own words (may be empty).
    pub message: String,
    pub sent_at: String,
}

impl NoticeFields {
    /// A complete example, for checking templates before they are needed.
    pub fn sample(stage: Stage, audience: Audience) -> NoticeFields {
        NoticeFields {
            incident: IncidentFields {
                id: "INC-261202-2204-ab12".into(),
                kind: "infrastructure".into(),
                severity: "sev1".into(),
                declared_at: "2026-12-02 22:04 UTC".into(),
                commander: "alice".into(),
            },
            systems: vec![AffectedSystem {
                name: "database".into(),
                tier: 1,
                state: "down".into(),
                rto_left: Some("00:23:10".into()),
            }],
            components: vec!["Payments".into()],
            impact: vec!["api".into()],
            rto_left: Some("00:23:10".into()),
            eta: Some("22:41 UTC".into()),
            stage: stage.name().into(),
            stage_title: stage.title().into(),
            audience: audience.name().into(),
            next_update: Some("22:34 UTC".into()),
            message: "The standby is being promoted.".into(),
            sent_at: "2026-12-02 22:05 UTC".into(),
        }
    }
}

/// Where a template came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSource {
    /// The file (`templates/initial-external-sms.j2`), or `built-in`.
    pub origin: String,
    pub text: String,
}

/// A template that does not render: the file, the line, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub origin: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for TemplateError {}

const BUILT_IN: [(&str, &str); 7] = [
    ("phrases.j2", include_str!("templates/phrases.j2")),
    ("subject", include_str!("templates/subject.j2")),
    ("text", include_str!("templates/text.j2")),
    ("html.html", include_str!("templates/html.j2")),
    ("sms", include_str!("templates/sms.j2")),
    ("chat", include_str!("templates/chat.j2")),
    ("status", include_str!("templates/status.j2")),
];

/// The notice templates: the built-in defaults, and the user's overrides by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates {
    /// The user's, by file stem (`initial-external-sms`).
    pub overrides: BTreeMap<String, TemplateSource>,
}

/// The names a user's template may have.
pub fn override_names() -> Vec<String> {
    let mut names = Vec::new();
    for part in Part::ALL {
        names.push(part.name().to_owned());
        for stage in Stage::ALL {
            names.push(format!("{}-{}", stage.name(), part.name()));
            for audience in [Audience::Internal, Audience::External] {
                names.push(format!("{}-{}-{}", stage.name(), audience.name(), part.name()));
            }
        }
    }
    names
}

impl Templates {
    /// The template a (stage, audience, part) uses: the most specific override, else built in.
    fn pick(&self, stage: Stage, audience: Audience, part: Part) -> (String, &str) {
        let candidates = [
            format!("{}-{}-{}", stage.name(), audience.name(), part.name()),
            format!("{}-{}", stage.name(), part.name()),
            part.name().to_owned(),
        ];
        for name in candidates {
            if let Some(source) = self.overrides.get(&name) {
                return (name, source.origin.as_str());
            }
        }
        let builtin = if part == Part::Html { "html.html".to_owned() } else { part.name().to_owned() };
        (builtin, "built-in")
    }

    fn environment(&self) -> Result<minijinja::Environment<'static>, TemplateError> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(false);
        // HTML parts (a user's `*-html` file, the built-in `html.html`) escape what they insert.
        env.set_auto_escape_callback(|name| {
            if name.ends_with("html") || name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        for (name, text) in BUILT_IN {
            env.add_template_owned(name.to_owned(), text.to_owned()).map_err(|e| describe(&e, "built-in"))?;
        }
        for (name, source) in &self.overrides {
            env.add_template_owned(format!("user:{name}"), source.text.clone())
                .map_err(|e| describe(&e, &source.origin))?;
        }
        Ok(env)
    }

    /// Compile every template once, for many renders.
    pub fn compile(&self) -> Result<Compiled, TemplateError> {
        Ok(Compiled { env: self.environment()?, templates: self.clone() })
    }

    /// Render every stage x audience x part with a complete example: an unknown field, a
    /// syntax error or a filter that does not exist is found now, with its file and line. Every
    /// name a template reads is checked too, in branches the example does not take
    /// (`{% if message == "x" %}{{ nope }}{% endif %}`).
    pub fn check(&self) -> Vec<TemplateError> {
        let compiled = match self.compile() {
            Ok(c) => c,
            Err(e) => return vec![e],
        };
        let mut problems = Vec::new();
        for (name, source) in &self.overrides {
            let Ok(template) = compiled.env.get_template(&format!("user:{name}")) else { continue };
            let mut names: Vec<String> = template.undeclared_variables(true).into_iter().collect();
            names.sort();
            for n in names.into_iter().filter(|n| !known_name(n)) {
                let line = source.text.lines().position(|l| l.contains(n.as_str())).map(|i| i + 1);
                problems.push(TemplateError {
                    origin: source.origin.clone(),
                    line,
                    message: format!("`{n}` is not a field (templates may use: {FIELDS})"),
                });
            }
        }
        for stage in Stage::ALL {
            for audience in [Audience::Internal, Audience::External] {
                let fields = NoticeFields::sample(stage, audience);
                for part in Part::ALL {
                    if let Err(e) = compiled.render(stage, audience, part, &fields)
                        && !problems.contains(&e)
                    {
                        problems.push(e);
                    }
                }
            }
        }
        problems
    }
}

/// Templates compiled, ready to render.
#[derive(Debug)]
pub struct Compiled {
    env: minijinja::Environment<'static>,
    templates: Templates,
}

impl Compiled {
    pub fn render(
        &self,
        stage: Stage,
        audience: Audience,
        part: Part,
        fields: &NoticeFields,
    ) -> Result<String, TemplateError> {
        let (name, origin) = self.templates.pick(stage, audience, part);
        let (lookup, origin) = if origin == "built-in" {
            (name, "built-in".to_owned())
        } else {
            (format!("user:{name}"), origin.to_owned())
        };
        let template = self.env.get_template(&lookup).map_err(|e| describe(&e, &origin))?;
        // The stage and audience rendered are the ones asked for, whatever `fields` says.
        let ctx = minijinja::context! {
            stage => stage.name(),
            stage_title => stage.title(),
            audience => audience.name(),
            ..minijinja::Value::from_serialize(fields)
        };
        let text = template.render(ctx).map_err(|e| describe(&e, &origin))?;
        Ok(match part {
            // One line, whatever the template's whitespace.
            Part::Subject => text.split_whitespace().collect::<Vec<_>>().join(" "),
            Part::Sms | Part::Status => text.split_whitespace().collect::<Vec<_>>().join(" "),
            _ => {
                let mut t = text.trim_end().to_owned();
                t.push('\n');
                t
            }
        })
    }
}

/// What the error messages list.
const FIELDS: &str = "incident.id, incident.type, incident.severity, incident.declared_at, incident.commander, systems[].name/tier/state/rto_left, components, impact, rto_left, eta, stage, stage_title, audience, next_update, message, sent_at";

/// A name a template may read: a field (with `incident`'s own fields checked), or one of
/// minijinja's globals.
fn known_name(name: &str) -> bool {
    const TOP: &[&str] = &[
        "incident",
        "systems",
        "components",
        "impact",
        "rto_left",
        "eta",
        "stage",
        "stage_title",
        "audience",
        "next_update",
        "message",
        "sent_at",
        // minijinja's own
        "loop",
        "range",
        "dict",
        "namespace",
        "debug",
        "lipsum",
        "cycler",
        "joiner",
        "self",
        "caller",
        "varargs",
        "kwargs",
    ];
    const INCIDENT: &[&str] = &["id", "type", "severity", "declared_at", "commander"];
    let mut parts = name.split('.');
    let top = parts.next().unwrap_or_default();
    match (top, parts.next()) {
        ("incident", Some(field)) => INCIDENT.contains(&field),
        (top, _) => TOP.contains(&top),
    }
}

fn describe(e: &minijinja::Error, origin: &str) -> TemplateError {
    // A built-in template imported by the user's (phrases.j2) names itself.
    let origin = match e.name() {
        Some(name) if name.starts_with("user:") || origin != "built-in" => origin.to_owned(),
        Some(name) => format!("built-in {name}"),
        None => origin.to_owned(),
    };
    let message = match e.kind() {
        minijinja::ErrorKind::UndefinedError => {
            // The expression itself, from the template's text: `incident.colour`.
            let named = e.template_source().zip(e.range()).and_then(|(src, r)| src.get(r)).map(str::trim);
            format!(
                "{} (templates may use: {FIELDS})",
                match named {
                    Some(n) => format!("`{n}` is not a field"),
                    None => e.detail().unwrap_or("an unknown field").to_owned(),
                }
            )
        }
        _ => e.detail().map(str::to_owned).unwrap_or_else(|| e.kind().to_string()),
    };
    TemplateError { origin, line: e.line(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, text: &str) -> Templates {
        let mut t = Templates::default();
        t.overrides.insert(
            name.to_owned(),
            TemplateSource { origin: format!("templates/{name}.j2"), text: text.to_owned() },
        );
        t
    }

    #[test]
    fn the_defaults_render_for_every_stage_audience_and_part() {
        assert_eq!(Templates::default().check(), Vec::new());
        let compiled = Templates::default().compile().unwrap();
        let fields = NoticeFields::sample(Stage::Initial, Audience::External);
        let sms = compiled.render(Stage::Initial, Audience::External, Part::Sms, &fields).unwrap();
        assert_eq!(
            sms,
            "INC-261202-2204-ab12 SEV1: We are aware of an issue affecting Payments and are investigating. The standby is being promoted. Next update 22:34 UTC."
        );
        let subject = compiled.render(Stage::Update, Audience::Internal, Part::Subject, &fields).unwrap();
        assert_eq!(subject, "[INC-261202-2204-ab12] SEV1 infrastructure incident: database");
        let text = compiled.render(Stage::Update, Audience::Internal, Part::Text, &fields).unwrap();
        assert!(text.contains("database (tier 1): down, RTO left 00:23:10"), "{text}");
        assert!(text.contains("Next update by 22:34 UTC."), "{text}");
    }

    #[test]
    fn an_unknown_field_is_found_at_check_with_its_file_and_line() {
        let t = user("initial-external-sms", "{{ incident.id }}\n{{ incident.colour }}");
        let problems = t.check();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].origin, "templates/initial-external-sms.j2");
        assert_eq!(problems[0].line, Some(2));
        assert!(
            problems[0].to_string().starts_with("templates/initial-external-sms.j2:2: "),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_field_in_a_branch_the_example_does_not_take_is_found_too() {
        let problems = user(
            "sms",
            "{{ incident.id }}\n{% if message == \"boom\" %}{{ nope }} {{ incident.colour }}{% endif %}",
        )
        .check();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.starts_with("templates/sms.j2:2: `nope` is not a field")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("`incident.colour` is not a field")), "{text:?}");
        // Loops, their variables and the built-in globals are fine.
        let ok = user(
            "text",
            "{% for s in systems %}{{ s.name }} {{ loop.index }}{% endfor %}{{ range(3) | length }}",
        )
        .check();
        assert_eq!(ok, Vec::new());
    }

    #[test]
    fn a_syntax_error_names_the_file() {
        let problems = user("text", "line one\n{% if %}").check();
        assert_eq!(problems[0].origin, "templates/text.j2");
        assert_eq!(problems[0].line, Some(2));
    }

    #[test]
    fn the_most_specific_template_wins() {
        let mut t = user("sms", "all {{ stage }}");
        t.overrides
            .insert("resolution-sms".into(), TemplateSource { origin: "r".into(), text: "resolved!".into() });
        let c = t.compile().unwrap();
        let f = NoticeFields::sample(Stage::Resolution, Audience::Internal);
        assert_eq!(c.render(Stage::Resolution, Audience::Internal, Part::Sms, &f).unwrap(), "resolved!");
        assert_eq!(c.render(Stage::Initial, Audience::Internal, Part::Sms, &f).unwrap(), "all initial");
    }

    #[test]
    fn html_escapes_what_it_inserts() {
        let c = Templates::default().compile().unwrap();
        let mut f = NoticeFields::sample(Stage::Initial, Audience::Internal);
        f.message = "<script>alert(1)</script>".into();
        f.components = vec!["<b>x</b>".into()];
        let html = c.render(Stage::Initial, Audience::External, Part::Html, &f).unwrap();
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b>x</b>"), "{html}");
        let user_html = user("html", "<p>{{ message }}</p>").compile().unwrap();
        let out = user_html.render(Stage::Initial, Audience::Internal, Part::Html, &f).unwrap();
        assert_eq!(out, "<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>\n");
    }
}

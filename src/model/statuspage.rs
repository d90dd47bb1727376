//! The public status page, pure rendering: a snapshot in, a static HTML page and an Atom feed
//! out. No JavaScript; one column that reads on a phone and widens on a desktop; every
//! component's state as a word and a symbol, never colour alone; when it was last updated.

use chrono::{DateTime, Utc};

/// A component the public sees, and how it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    /// `operational`, `degraded performance`, `major outage`, `under maintenance`.
    pub state: ComponentState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentState {
    Operational,
    Degraded,
    Outage,
}

impl ComponentState {
    pub fn words(self) -> &'static str {
        match self {
            ComponentState::Operational => "Operational",
            ComponentState::Degraded => "Degraded performance",
            ComponentState::Outage => "Major outage",
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            ComponentState::Operational => "●",
            ComponentState::Degraded => "▲",
            ComponentState::Outage => "✖",
        }
    }

    fn class(self) -> &'static str {
        match self {
            ComponentState::Operational => "ok",
            ComponentState::Degraded => "warn",
            ComponentState::Outage => "bad",
        }
    }
}

/// One public update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// A stable id (the notice's), for the feed.
    pub id: String,
    pub at: DateTime<Utc>,
    /// `Investigating`, `Identified`, `Monitoring`, `Resolved`, `Post-incident summary`.
    pub title: String,
    pub text: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSnapshot {
    pub title: String,
    /// Where the page is served (for the feed's links), if known.
    pub url: Option<String>,
    pub components: Vec<Component>,
    /// The incident's public name, when one is open or recent.
    pub incident: Option<String>,
    pub resolved: bool,
    /// Newest first.
    pub updates: Vec<Update>,
    pub next_update: Option<DateTime<Utc>>,
    pub generated_at: DateTime<Utc>,
}

/// Escape text for HTML and XML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1f23;background:#f6f8fa}\
main{max-width:46rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0}\
.banner{padding:1rem;border-radius:.5rem;margin:1rem 0;font-weight:600;border:2px solid}\
.banner.ok{background:#e6f6ea;border-color:#1a7f37}.banner.bad{background:#ffebe9;border-color:#cf222e}.banner.warn{background:#fff8c5;border-color:#9a6700}\
ul{list-style:none;padding:0;margin:0}\
.components li{display:flex;justify-content:space-between;gap:1rem;padding:.75rem 1rem;background:#fff;border:1px solid #d0d7de;margin-top:-1px}\
.state.ok{color:#1a7f37}.state.warn{color:#9a6700}.state.bad{color:#cf222e}\
.updates li{background:#fff;border:1px solid #d0d7de;border-radius:.5rem;padding:.75rem 1rem;margin:.75rem 0}\
.updates h3{margin:0 0 .25rem;font-size:1rem}time{color:#57606a;font-size:.9rem}\
footer{color:#57606a;font-size:.85rem;margin:2rem 0}\
@media (min-width:48rem){main{padding:2rem}h1{font-size:2rem}}";

/// The page: a static HTML document.
pub fn render_html(s: &StatusSnapshot) -> String {
    let worst = s
        .components
        .iter()
        .map(|c| c.state)
        .max_by_key(|c| match c {
            ComponentState::Operational => 0,
            ComponentState::Degraded => 1,
            ComponentState::Outage => 2,
        })
        .unwrap_or(ComponentState::Operational);
    let (banner_class, banner) = match (&s.incident, s.resolved, worst) {
        (Some(_), false, ComponentState::Operational) => ("warn", "We are investigating an issue".to_owned()),
        (Some(_), false, w) => (
            w.class(),
            format!(
                "{} {}",
                w.symbol(),
                if w == ComponentState::Outage {
                    "Some services are down"
                } else {
                    "Some services are degraded"
                }
            ),
        ),
        _ => ("ok", "● All systems operational".to_owned()),
    };
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str(&format!("<title>{}</title>\n", escape(&s.title)));
    html.push_str(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Updates\" href=\"feed.atom\">\n",
    );
    html.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"));
    html.push_str(&format!("<h1>{}</h1>\n", escape(&s.title)));
    html.push_str(&format!("<p class=\"banner {banner_class}\" id=\"overall\">{}</p>\n", escape(&banner)));
    html.push_str("<section aria-label=\"Components\">\n<h2>Components</h2>\n<ul class=\"components\" id=\"components\">\n");
    for c in &s.components {
        html.push_str(&format!(
            "<li data-component=\"{}\"><span>{}</span><span class=\"state {}\">{} {}</span></li>\n",
            escape(&c.name),
            escape(&c.name),
            c.state.class(),
            c.state.symbol(),
            c.state.words()
        ));
    }
    html.push_str("</ul>\n</section>\n");
    if let Some(incident) = &s.incident {
        html.push_str(&format!("<section aria-label=\"Incident\">\n<h2>{}</h2>\n", escape(incident)));
        if let Some(next) = s.next_update.filter(|_| !s.resolved) {
            html.push_str(&format!(
                "<p id=\"next-update\">Next update by <time datetime=\"{}\">{}</time></p>\n",
                next.to_rfc3339(),
                stamp(next)
            ));
        }
        html.push_str("<ul class=\"updates\" id=\"updates\">\n");
        for u in &s.updates {
            html.push_str(&format!(
                "<li id=\"{}\"><h3>{}</h3><time datetime=\"{}\">{}</time><p>{}</p></li>\n",
                escape(&u.id),
                escape(&u.title),
                u.at.to_rfc3339(),
                stamp(u.at),
                escape(&u.text).replace('\n', "<br>")
            ));
        }
        html.push_str("</ul>\n</section>\n");
    }
    html.push_str(&format!(
        "<footer>Last updated <time id=\"updated\" datetime=\"{}\">{}</time> · <a href=\"feed.atom\">Atom feed</a></footer>\n",
        s.generated_at.to_rfc3339(),
        stamp(s.generated_at)
    ));
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// The updates as an Atom feed (RFC 4287), newest first.
pub fn render_atom(s: &StatusSnapshot) -> String {
    let base = s.url.clone().unwrap_or_default();
    let base = base.trim_end_matches('/');
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    xml.push_str(&format!("<title>{}</title>\n", escape(&s.title)));
    xml.push_str(&format!(
        "<id>{}</id>\n",
        escape(&if base.is_empty() {
            format!("urn:warroom:status:{}", s.title.replace(' ', "-"))
        } else {
            format!("{base}/")
        })
    ));
    xml.push_str(&format!(
        "<updated>{}</updated>\n",
        s.updates.first().map(|u| u.at).unwrap_or(s.generated_at).to_rfc3339()
    ));
    if !base.is_empty() {
        xml.push_str(&format!(
            "<link href=\"{}/\"/>\n<link rel=\"self\" href=\"{}/feed.atom\"/>\n",
            escape(base),
            escape(base)
        ));
    }
    xml.push_str("<author><name>warroom</name></author>\n");
    for u in &s.updates {
        xml.push_str("<entry>\n");
        xml.push_str(&format!("<id>urn:warroom:notice:{}</id>\n", escape(&u.id)));
        xml.push_str(&format!("<title>{}</title>\n", escape(&u.title)));
        xml.push_str(&format!("<updated>{}</updated>\n", u.at.to_rfc3339()));
        xml.push_str(&format!("<content type=\"text\">{}</content>\n", escape(&u.text)));
        xml.push_str("</entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> StatusSnapshot {
        let at = DateTime::parse_from_rfc3339("2026-12-02T22:05:00Z").unwrap().with_timezone(&Utc);
        StatusSnapshot {
            title: "Example status".into(),
            url: Some("https://status.example.com".into()),
            components: vec![
                Component { name: "Payments".into(), state: ComponentState::Outage },
                Component { name: "Web <shop>".into(), state: ComponentState::Operational },
            ],
            incident: Some("Service disruption".into()),
            resolved: false,
            updates: vec![Update {
                id: "INC-1-initial-1".into(),
                at,
                title: "Investigating".into(),
                text: "We are aware & <looking>.".into(),
            }],
            next_update: Some(at + chrono::Duration::minutes(30)),
            generated_at: at,
        }
    }

    #[test]
    fn the_page_escapes_and_says_everything_in_words() {
        let html = render_html(&snapshot());
        assert!(html.contains("Web &lt;shop&gt;") && !html.contains("<shop>"));
        assert!(html.contains("We are aware &amp; &lt;looking&gt;."));
        assert!(html.contains("✖ Major outage") && html.contains("● Operational"));
        assert!(html.contains("Next update by"));
        assert!(html.contains("Last updated"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_feed_has_one_entry_per_update() {
        let xml = render_atom(&snapshot());
        assert_eq!(xml.matches("<entry>").count(), 1);
        assert!(xml.contains("<id>urn:warroom:notice:INC-1-initial-1</id>"));
        assert!(xml.contains("<link rel=\"self\" href=\"https://status.example.com/feed.atom\"/>"));
    }
}

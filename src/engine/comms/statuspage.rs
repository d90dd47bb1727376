//! The public status page: gathered from the configuration's public components, their health,
//! and the newest incident's external updates; rendered by `model::statuspage`; written to the
//! configured folder or location (index.html, then feed.atom, each atomically), so it stays up
//! wherever it is served from when the primary site is not.

use crate::config::backup::{Location, Store};
use crate::engine::Engine;
use crate::engine::backup::repo::Repository;
use crate::model::comms::Stage;
use crate::model::statuspage::{Component, ComponentState, StatusSnapshot, Update, render_atom, render_html};

fn title(stage: Stage) -> &'static str {
    match stage {
        Stage::Initial => "Investigating",
        Stage::Update => "Identified",
        Stage::Progress => "Update",
        Stage::Resolution => "Resolved",
        Stage::PostIncident => "Post-incident summary",
    }
}

impl Engine {
    /// What the public page shows now.
    pub async fn statuspage_snapshot(&self) -> Result<StatusSnapshot, String> {
        let page =
            self.config.notify.statuspage.as_ref().ok_or("there is no [statuspage] in the configuration")?;
        let incidents = self.incidents().await.map_err(|e| e.to_string())?;
        let newest = incidents.iter().find(|i| i.closed_at.is_none()).or_else(|| incidents.first());
        let now = self.now();
        let events = self
            .store
            .health_events(now - chrono::Duration::days(30), now)
            .await
            .map_err(|e| e.to_string())?;
        let open = newest.filter(|i| i.closed_at.is_none());
        let impacted = open.map(|i| self.impacted_by(&i.systems)).unwrap_or_default();
        let mut components: Vec<Component> = Vec::new();
        for (system, public) in &page.components {
            let last = events
                .iter()
                .rev()
                .find(|e| &e.system == system && e.kind == "transition")
                .and_then(|e| e.to.clone());
            // Affected by the open incident, or depending on what is and not known healthy.
            let open_incident_on_it = open.is_some_and(|i| i.systems.contains(system))
                || (last.is_none() && impacted.contains(system));
            let state = match last.as_deref() {
                Some("down") => ComponentState::Outage,
                Some("degraded") => ComponentState::Degraded,
                _ if open_incident_on_it => ComponentState::Degraded,
                _ => ComponentState::Operational,
            };
            // Systems that share a public name are one component (a group): the worst shows.
            let rank = |s: ComponentState| match s {
                ComponentState::Operational => 0,
                ComponentState::Degraded => 1,
                ComponentState::Outage => 2,
            };
            match components.iter_mut().find(|c: &&mut Component| &c.name == public) {
                Some(c) if rank(state) > rank(c.state) => c.state = state,
                Some(_) => {}
                None => components.push(Component { name: public.clone(), state }),
            }
        }
        let (incident, resolved, updates, next_update) = match newest {
            Some(i) => {
                let notices = self.notices(&i.id).await.map_err(|e| e.to_string())?;
                let updates: Vec<Update> = notices
                    .iter()
                    .rev()
                    .filter_map(|n| {
                        n.external.as_ref().map(|text| Update {
                            id: n.id.clone(),
                            at: n.sent_at,
                            title: title(n.stage).to_owned(),
                            text: text.clone(),
                        })
                    })
                    .collect();
                // A next update is shown only if the next stage goes to the public too.
                let notify = &self.config.notify;
                let next = notices
                    .iter()
                    .rev()
                    .find(|n| n.external.is_some())
                    .filter(|n| {
                        let following = match n.stage {
                            Stage::Initial => Some(Stage::Update),
                            Stage::Update | Stage::Progress => Some(Stage::Progress),
                            _ => None,
                        };
                        following.is_some_and(|f| notify.reaches_external(f))
                    })
                    .and_then(|n| n.next_update);
                // An incident no outsider was told of is not on the public page.
                if updates.is_empty() {
                    (None, true, Vec::new(), None)
                } else {
                    (Some("Service disruption".to_owned()), i.closed_at.is_some(), updates, next)
                }
            }
            None => (None, true, Vec::new(), None),
        };
        Ok(StatusSnapshot {
            title: page.title.clone(),
            url: page.url.clone(),
            components,
            incident,
            resolved,
            updates,
            next_update,
            generated_at: now,
        })
    }

    /// Render the page and its feed and write them where the configuration says; returns where.
    pub async fn publish_statuspage(&self) -> Result<String, crate::engine::access::WriteError> {
        self.permit_write(self.operator(), "publishing the status page", "statuspage.published", "-").await?;
        self.publish_statuspage_configured().await.map_err(crate::engine::access::WriteError::Failed)
    }

    /// The page written as part of an approved notice (its job was checked when proposed).
    pub(in crate::engine) async fn publish_statuspage_configured(&self) -> Result<String, String> {
        let page =
            self.config.notify.statuspage.as_ref().ok_or("there is no [statuspage] in the configuration")?;
        let snapshot = self.statuspage_snapshot().await?;
        let (location, prefix) = match (&page.path, &page.location) {
            (Some(path), _) => (
                Location {
                    name: "statuspage".into(),
                    store: Store::Fs { path: path.clone() },
                    media: crate::model::Media::Disk,
                    offsite: false,
                    immutable: None,
                },
                "",
            ),
            (None, Some(name)) => (
                self.config
                    .location(name)
                    .cloned()
                    .ok_or_else(|| format!("there is no location \"{name}\""))?,
                "statuspage/",
            ),
            (None, None) => return Err("[statuspage] needs `path` or `location`".into()),
        };
        if let Store::Fs { path } = &location.store {
            std::fs::create_dir_all(path).map_err(|e| format!("cannot make {}: {e}", path.display()))?;
        }
        let repo = Repository::open(&location)?;
        // The page first, the feed after: a reader of the feed finds the page it links to.
        repo.write_small(&format!("{prefix}index.html"), render_html(&snapshot).into_bytes()).await?;
        repo.write_small(&format!("{prefix}feed.atom"), render_atom(&snapshot).into_bytes()).await?;
        Ok(format!(
            "{}{prefix}index.html",
            location.describe().trim_start_matches("fs ").trim_end_matches('/').to_owned() + "/"
        ))
    }
}

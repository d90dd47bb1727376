//! A system's runbook, gathered from the config and the state: every command written out for
//! `sh` with each word quoted, so it can be followed when warroom itself is unavailable.

use std::path::Path;

use super::Engine;
use super::backup::catalog::{BackupView, restorable};
use super::backup::manifest::SourceInfo;
use super::backup::repo::{DATA, INDEX, Repository};
use crate::config::backup::Store;
use crate::config::failover::{Procedure, Step, StepAction};
use crate::config::health::{HeaderValue, Probe};
use crate::config::secrets::SecretSource;
use crate::model::BackupKind;
use crate::model::doc::{sh_line, sh_quote};
use crate::model::runbook::{
    ChainLink, ContactRow, Procedure as ProcedureDoc, Restore, RestoreFrom, Runbook, SCHEMA, StepLine,
    TestLine,
};

/// Where the runbook restores to when it is not told.
pub fn default_restore_to(system: &str) -> String {
    format!("/var/tmp/warroom-restore/{system}")
}

impl Engine {
    /// The runbook of `system`; its restore goes into `restore_to` (by default
    /// `/var/tmp/warroom-restore/SYSTEM`).
    pub async fn runbook(&self, system: &str, restore_to: Option<&Path>) -> Result<Runbook, String> {
        let all = self.backups(None).await?;
        let programme = self.programme().await?;
        self.runbook_from(system, restore_to, &all, &programme)
    }

    /// Every system's runbook, in recovery order (what others depend on first).
    pub async fn runbooks(&self, restore_to: Option<&Path>) -> Result<Vec<Runbook>, String> {
        let all = self.backups(None).await?;
        let programme = self.programme().await?;
        let estate = &self.config.estate;
        let order: Vec<String> = match estate.recovery_waves() {
            Ok(waves) => waves.into_iter().flatten().map(|i| estate.systems()[i].name.clone()).collect(),
            Err(_) => estate.systems().iter().map(|s| s.name.clone()).collect(),
        };
        order
            .iter()
            .map(|name| {
                // Each system's restore goes into a folder of its own under the one given.
                let to = restore_to.map(|d| d.join(name));
                self.runbook_from(name, to.as_deref(), &all, &programme)
            })
            .collect()
    }

    fn runbook_from(
        &self,
        name: &str,
        restore_to: Option<&Path>,
        all: &[BackupView],
        programme: &super::programme::ProgrammeView,
    ) -> Result<Runbook, String> {
        let config = &self.config;
        let estate = &config.estate;
        let plan = &config.plan;
        let Some(index) = estate.index_of(name) else {
            let names: Vec<&str> = estate.systems().iter().map(|s| s.name.as_str()).collect();
            return Err(format!("there is no system \"{name}\" (the systems are {})", names.join(", ")));
        };
        let system = &estate.systems()[index];
        let settings = &config.systems[index];
        let graph = estate.graph();
        let posture = plan.posture(system);

        let deps = graph.transitive_dependencies(index);
        let recover_first: Vec<Vec<String>> = match estate.recovery_waves() {
            Ok(waves) => waves
                .iter()
                .map(|w| {
                    w.iter()
                        .filter(|i| deps.contains(i))
                        .map(|&i| graph.name(i).to_owned())
                        .collect::<Vec<_>>()
                })
                .filter(|w| !w.is_empty())
                .collect(),
            Err(_) => vec![deps.iter().map(|&i| graph.name(i).to_owned()).collect()],
        };
        let then_check: Vec<String> =
            graph.transitive_dependents(index).iter().map(|&i| graph.name(i).to_owned()).collect();

        let probe_of = |who: &str| -> Option<String> {
            let i = estate.index_of(who)?;
            config.systems[i].health.as_ref().map(|h| probe_line(&h.probe, h.timeout.as_secs().max(1)))
        };
        let procedure = |p: &Procedure| ProcedureDoc {
            approval: p.approval.map(|a| a.name().to_owned()),
            estimate_secs: p.estimate().as_secs(),
            commit_window_secs: p.commit_window.map(|w| w.as_secs()),
            steps: p.steps.iter().map(|s| step_line(s, name, &probe_of)).collect(),
            validate: p.validate.iter().map(|s| step_line(s, name, &probe_of)).collect(),
            rollback: p.rollback.iter().map(|s| step_line(s, name, &probe_of)).collect(),
        };
        let failover = settings.failover.as_ref().map(procedure);
        let failback = settings.failback.as_ref().map(procedure);

        let to = restore_to.map(|p| p.display().to_string()).unwrap_or_else(|| default_restore_to(name));
        let restore = self.restore_section(name, all, &to);

        let mut prerequisites = Vec::new();
        if let Some((kind, site)) = &posture.standby {
            prerequisites
                .push(format!("Access to the DR site {site}, where {name} has a {} standby", kind.name()));
        }
        if !deps.is_empty() {
            let names: Vec<&str> = deps.iter().map(|&i| graph.name(i)).collect();
            prerequisites.push(format!("What {name} depends on is back and healthy: {}", names.join(", ")));
        }
        let mut programs: Vec<String> = Vec::new();
        for p in settings.failover.iter().chain(settings.failback.iter()) {
            for s in p.steps.iter().chain(&p.validate).chain(&p.rollback) {
                match &s.action {
                    StepAction::Run { program, .. } if !programs.contains(program) => {
                        programs.push(program.clone())
                    }
                    StepAction::Http(_) if !programs.iter().any(|p| p == "curl") => {
                        programs.push("curl".into())
                    }
                    _ => {}
                }
            }
        }
        if !programs.is_empty() {
            prerequisites
                .push(format!("The programs the procedures run, on this host: {}", programs.join(", ")));
        }
        if let Restore::Ready { identity, tools, locations, .. } = &restore {
            prerequisites
                .push(format!("The backup's private key at {identity} (never kept beside the backups)"));
            prerequisites.push(format!("For a restore: {}", tools.join(", ")));
            for l in locations {
                if let Some(creds) = self.credentials_note(&l.location) {
                    prerequisites.push(creds);
                }
            }
        }
        prerequisites.push("The escalation contacts below know that recovery has started".into());

        let processes: Vec<String> = plan
            .processes
            .iter()
            .filter(|p| p.reliance(estate).iter().any(|s| s == name))
            .map(|p| p.name.clone())
            .collect();
        let contacts = self.escalation(name, &processes);
        let tests = programme
            .system(name)
            .map(|p| {
                p.tests
                    .iter()
                    .map(|t| TestLine {
                        test: t.test.name().to_owned(),
                        last_at: t.last.as_ref().map(|l| l.at),
                        outcome: t.last.as_ref().map(|l| l.outcome.name().to_owned()),
                        next_due: t.next_due,
                        due: t.due,
                    })
                    .collect()
            })
            .unwrap_or_default();

        Ok(Runbook {
            schema: SCHEMA,
            generated_at: self.now(),
            plan: plan.name.clone(),
            config_sha256: config.hash.clone(),
            system: name.to_owned(),
            tier: system.tier.number(),
            tier_label: system.tier.label().to_owned(),
            description: system.description.clone(),
            owner: system.owner.clone(),
            rto_secs: system.objective.rto.as_secs(),
            rpo_secs: system.objective.rpo.as_secs(),
            site: posture.runs_at.clone(),
            standby: posture.standby.as_ref().map(|(k, _)| k.name().to_owned()),
            standby_site: posture.standby.as_ref().map(|(_, s)| s.clone()),
            processes,
            prerequisites,
            recover_first,
            then_check,
            health: probe_of(name),
            failover,
            failback,
            restore,
            contacts,
            tests,
        })
    }

    /// The restore of `system`'s newest restorable backup, for each location holding its chain.
    fn restore_section(&self, system: &str, all: &[BackupView], to: &str) -> Restore {
        let config = &self.config;
        let good = restorable(all);
        let Some(newest) = all
            .iter()
            .filter(|b| b.manifest.system == system && good.contains(&b.manifest.id))
            .max_by_key(|b| (b.manifest.started_at, b.manifest.id.clone()))
        else {
            let reason = match config.estate.index_of(system).and_then(|i| config.systems[i].backup.as_ref())
            {
                None => format!("{system} has no backup policy: there is nothing to restore."),
                Some(_) => format!(
                    "{system} has no verified backup: nothing can be restored. Run `warroom backup run {system}`."
                ),
            };
            return Restore::None { reason };
        };
        // Newest first while walking the chain, then oldest first.
        let mut chain: Vec<&BackupView> = vec![newest];
        while let Some(parent) = chain.last().and_then(|b| b.manifest.parent.as_deref()) {
            match all.iter().find(|b| b.manifest.id == parent) {
                Some(p) if !chain.iter().any(|c| c.manifest.id == p.manifest.id) => chain.push(p),
                _ => break,
            }
        }
        chain.reverse();
        let identity = config
            .encryption
            .identity_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "backup-key.txt".into());
        let deletions = chain.iter().skip(1).any(|b| b.manifest.deleted_files > 0);
        let mut tools: Vec<String> = ["age", "zstd", "tar", "sha256sum"].map(String::from).to_vec();
        if deletions {
            tools.push("jq".into());
        }

        // Locations holding every backup of the chain; those where every copy was verified first.
        let mut names: Vec<&str> = Vec::new();
        for b in &chain {
            for c in &b.copies {
                if !names.contains(&c.location.as_str()) {
                    names.push(&c.location);
                }
            }
        }
        let mut locations: Vec<RestoreFrom> = names
            .into_iter()
            .filter(|l| chain.iter().all(|b| b.copy(l).is_some()))
            .filter_map(|l| {
                let location = config.location(l)?;
                let verified = chain.iter().all(|b| {
                    b.copy(l)
                        .is_some_and(|c| c.trust.trusted() && c.error.is_none() && c.verified_at.is_some())
                });
                Some(RestoreFrom {
                    location: l.to_owned(),
                    verified,
                    script: restore_script(system, &chain, &location.store, to, &identity),
                })
            })
            .collect();
        locations.sort_by_key(|l| !l.verified);
        if locations.iter().any(|l| self.credentials_note(&l.location).is_some()) {
            tools.push("the aws command-line tool".into());
        }
        Restore::Ready {
            backup: newest.manifest.id.clone(),
            taken_at: newest.manifest.started_at,
            chain: chain
                .iter()
                .map(|b| ChainLink {
                    id: b.manifest.id.clone(),
                    kind: b.manifest.kind.name().to_owned(),
                    taken_at: b.manifest.started_at,
                })
                .collect(),
            to: to.to_owned(),
            identity,
            tools,
            locations,
        }
    }

    /// What reading an S3 location by hand needs (names of variables, never their values).
    fn credentials_note(&self, location: &str) -> Option<String> {
        let Store::S3 { access_key, secret_key, .. } = &self.config.location(location)?.store else {
            return None;
        };
        let from = |s: &Option<SecretSource>, default: &str| match s {
            Some(SecretSource::Env(v)) => format!("${v}"),
            Some(SecretSource::File(p)) => p.display().to_string(),
            None => format!("${default}"),
        };
        Some(format!(
            "Credentials for location {location} as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (warroom reads them from {} and {})",
            from(access_key, "AWS_ACCESS_KEY_ID"),
            from(secret_key, "AWS_SECRET_ACCESS_KEY")
        ))
    }

    /// Who to call: the system's and its processes' owners where they are contacts, then every
    /// contact on an internal list, technical first.
    fn escalation(&self, system: &str, processes: &[String]) -> Vec<ContactRow> {
        let config = &self.config;
        let notify = &config.notify;
        let mut owners: Vec<(String, String)> = Vec::new();
        if let Some(o) = config.estate.system(system).and_then(|s| s.owner.clone()) {
            owners.push((o, format!("owns {system}")));
        }
        for p in config.plan.processes.iter().filter(|p| processes.contains(&p.name)) {
            if let Some(o) = &p.owner {
                owners.push((o.clone(), format!("owns the process {}", p.name)));
            }
        }
        let row = |c: &crate::config::notify::Contact, why: String| ContactRow {
            name: c.name.clone(),
            role: c.role.clone(),
            lists: c.lists.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            why,
        };
        let mut out: Vec<ContactRow> = Vec::new();
        for (name, why) in owners {
            if let Some(c) = notify.contact(&name) {
                if !out.iter().any(|r| r.name == c.name) {
                    out.push(row(c, why));
                }
            } else if !out.iter().any(|r| r.name == name) {
                // Named as an owner, but nobody says how to reach them.
                let why = format!("{why}; no [[contacts]] entry says how to reach {name}: add one");
                out.push(ContactRow { name, role: None, lists: Vec::new(), email: None, phone: None, why });
            }
        }
        let rank = |c: &crate::config::notify::Contact| {
            ["technical", "operations", "executive", "legal"]
                .iter()
                .position(|l| c.lists.iter().any(|x| x == l))
                .unwrap_or(4)
        };
        let mut internal: Vec<&crate::config::notify::Contact> = notify
            .contacts
            .iter()
            .filter(|c| c.lists.iter().any(|l| !notify.external_lists.contains(l) && l != "exercise"))
            .collect();
        internal.sort_by_key(|c| rank(c));
        for c in internal {
            if !out.iter().any(|r| r.name == c.name) {
                let lists: Vec<&str> = c.lists.iter().map(String::as_str).collect();
                let noun = if lists.len() == 1 { "list" } else { "lists" };
                out.push(row(c, format!("on the {} {noun}", lists.join(", "))));
            }
        }
        out
    }
}

/// The script that restores `chain` (oldest first) from one location into `to`: each object's
/// checksum checked with `sha256sum -c`, then `age -d | zstd -d | tar x`, then an incremental's
/// deletions.
fn restore_script(system: &str, chain: &[&BackupView], store: &Store, to: &str, identity: &str) -> String {
    let mut s = vec![
        format!(
            "# {system}: {} from this location, into {to} (which must be empty)",
            chain.last().map_or("", |b| b.manifest.id.as_str())
        ),
        "set -e".to_owned(),
        sh_line(["mkdir", "-p", to]),
    ];
    let downloads = format!("{to}.download");
    if matches!(store, Store::S3 { .. }) {
        s.push(sh_line(["mkdir", "-p", &downloads]));
    }
    for (n, b) in chain.iter().enumerate() {
        let m = &b.manifest;
        s.push(format!(
            "# {}/{}: {} backup {}, taken {}",
            n + 1,
            chain.len(),
            m.kind.name(),
            m.id,
            m.started_at.format("%Y-%m-%d %H:%M UTC")
        ));
        let (download, data) = object_at(store, &m.system, &m.id, DATA, &downloads);
        s.extend(download);
        s.push(format!("printf '%s  %s\\n' {} {} | sha256sum -c -", sh_quote(&m.sha256), sh_quote(&data)));
        let decrypt = format!("age -d -i {} {} | zstd -d", sh_quote(identity), sh_quote(&data));
        match &m.source {
            SourceInfo::Path { .. } => s.push(format!("{decrypt} | tar x -C {}", sh_quote(to))),
            SourceInfo::Command { file, .. } => {
                // The name comes from the manifest: only a plain file name is used.
                let plain = !file.is_empty() && !file.contains('/') && file != "." && file != "..";
                let name = if plain { file.clone() } else { format!("{system}.out") };
                s.push(format!("{decrypt} > {}", sh_quote(&format!("{to}/{name}"))));
            }
        }
        if n > 0 && m.kind != BackupKind::Full && m.deleted_files > 0 {
            let (download, index) = object_at(store, &m.system, &m.id, INDEX, &downloads);
            s.extend(download);
            s.push(format!(
                "printf '%s  %s\\n' {} {} | sha256sum -c -",
                sh_quote(&m.index_sha256),
                sh_quote(&index)
            ));
            // What was deleted since the parent, NUL-separated; never an absolute path or one
            // that climbs out with `..`.
            s.push(format!(
                "age -d -i {} {} | zstd -d | jq -j '.deleted[] | select((startswith(\"/\") or test(\"(^|/)[.][.](/|$)\")) | not) | . + \"\\u0000\"' | (cd {} && xargs -0 -r rm -rf --)",
                sh_quote(identity),
                sh_quote(&index),
                sh_quote(to)
            ));
        }
    }
    s.join("\n")
}

/// Where a backup's object is read from by hand, and the download that brings it here first
/// from an S3 location.
fn object_at(store: &Store, system: &str, id: &str, file: &str, downloads: &str) -> (Option<String>, String) {
    let key = Repository::backup_key(system, id, file);
    match store {
        Store::Fs { path } => (None, path.join(&key).display().to_string()),
        Store::S3 { bucket, prefix, endpoint, region, .. } => {
            let full = if prefix.is_empty() { key } else { format!("{prefix}/{key}") };
            let local = format!("{downloads}/{id}-{file}");
            let url = format!("s3://{bucket}/{full}");
            let mut cmd = vec!["aws", "s3", "cp"];
            if let Some(e) = endpoint {
                cmd.extend(["--endpoint-url", e.as_str()]);
            }
            cmd.extend(["--region", region.as_str(), url.as_str(), local.as_str()]);
            (Some(sh_line(cmd)), local)
        }
    }
}

/// A step by hand: its command for `sh`, or what a person does.
fn step_line(step: &Step, system: &str, probe_of: &dyn Fn(&str) -> Option<String>) -> StepLine {
    let (kind, command, instruction) = match &step.action {
        StepAction::Run { program, args, env, cwd } => {
            let mut words: Vec<String> = Vec::new();
            if !env.is_empty() {
                words.push("env".into());
                words.extend(env.iter().map(|(k, v)| sh_quote(&format!("{k}={v}"))));
            }
            words.push(sh_line(std::iter::once(program.as_str()).chain(args.iter().map(String::as_str))));
            let line = words.join(" ");
            let line = match cwd {
                Some(d) => format!("(cd {} && {line})", sh_quote(&d.display().to_string())),
                None => line,
            };
            ("run", Some(line), None)
        }
        StepAction::Http(h) => {
            let mut line = format!("curl -fsS -X {}", sh_quote(&h.method));
            for (name, value) in &h.headers {
                line.push_str(" -H ");
                line.push_str(&header_word(name, value));
            }
            if let Some(b) = &h.body {
                line.push_str(" --data-binary ");
                line.push_str(&sh_quote(b));
            }
            line.push(' ');
            line.push_str(&sh_quote(&h.url));
            ("http", Some(line), Some(format!("expect HTTP {}", h.expect_status)))
        }
        StepAction::WaitHealthy { system: other } => {
            let who = other.as_deref().unwrap_or(system);
            match probe_of(who) {
                Some(p) => (
                    "wait_healthy",
                    Some(format!("until {p}; do sleep 5; done")),
                    Some(format!("wait until {who} answers its health check")),
                ),
                None => (
                    "wait_healthy",
                    None,
                    Some(format!(
                        "wait until {who} is healthy (it has no health check: confirm with its owner)"
                    )),
                ),
            }
        }
        StepAction::Manual { instruction } => ("manual", None, Some(instruction.clone())),
    };
    StepLine {
        name: step.name.clone(),
        kind,
        command,
        instruction,
        timeout_secs: step.timeout.as_secs(),
        estimate_secs: step.estimate.map(|e| e.as_secs()),
    }
}

/// `-H` with a header; a secret one reads its value when the line runs, never written here.
fn header_word(name: &str, value: &HeaderValue) -> String {
    match value {
        HeaderValue::Plain(v) => sh_quote(&format!("{name}: {v}")),
        HeaderValue::Secret(SecretSource::Env(var)) => {
            format!("{}\"${var}\"", sh_quote(&format!("{name}: ")))
        }
        HeaderValue::Secret(SecretSource::File(p)) => {
            format!("{}\"$(cat {})\"", sh_quote(&format!("{name}: ")), sh_quote(&p.display().to_string()))
        }
    }
}

/// A system's health probe as one command that succeeds when it is healthy.
fn probe_line(probe: &Probe, timeout: u64) -> String {
    match probe {
        Probe::Http(h) => {
            let mut line = format!("curl -fsS -o /dev/null --max-time {timeout} -X {}", sh_quote(&h.method));
            for (name, value) in &h.headers {
                line.push_str(" -H ");
                line.push_str(&header_word(name, value));
            }
            line.push(' ');
            line.push_str(&sh_quote(&h.url));
            line
        }
        Probe::Tcp { address } => {
            let (host, port) = address.rsplit_once(':').unwrap_or((address.as_str(), ""));
            let host = host.trim_start_matches('[').trim_end_matches(']');
            format!("nc -z -w {timeout} {} {}", sh_quote(host), sh_quote(port))
        }
        Probe::Command { program, args } => {
            sh_line(std::iter::once(program.as_str()).chain(args.iter().map(String::as_str)))
        }
    }
}

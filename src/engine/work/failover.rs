//! Run a failover or failback procedure: steps in order, then validation; on a failure the
//! rollback of what had completed, in reverse; a manual step waits for an operator's signal.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::config::failover::{CommitDefault, HttpCall, Procedure, Step, StepAction};
use crate::config::health::HeaderValue;
use crate::engine::Engine;
use crate::engine::failover::*;
use crate::engine::jobs::{JobContext, Signal, Unit};
use crate::engine::process::{Program, run};
use crate::model::duration::human;
use crate::model::failover::FailoverState;
use crate::store::{NewAuditRecord, Outcome};

impl Engine {
    /// Run the failover (or failback) procedure of `system` as job `ctx`.
    pub async fn run_procedure(
        &self,
        system: &str,
        failback: bool,
        approved_sha256: &str,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let procedure = self.procedure(system, failback)?.clone();
        // What was approved is what runs: a configuration reloaded since with other steps is
        // not what anyone approved.
        if !approved_sha256.is_empty()
            && crate::engine::failover::procedure_sha256(&procedure) != approved_sha256
        {
            return Err(format!(
                "the {} procedure of {system} changed since it was proposed (the configuration was reloaded): nothing ran; propose it again to approve the procedure as it is now",
                if failback { "failback" } else { "failover" }
            ));
        }
        let operator = self.job_operator(&ctx.id).await?;
        let total = (procedure.steps.len() + procedure.validate.len()) as u64;
        ctx.meter.set_total(total);
        let started = if failback { FailoverState::FailingBack } else { FailoverState::FailoverInitiated };
        // Recorded before anything acts: a state that cannot be written stops it here.
        self.set_failover_state(system, StateChange::to(started).job(&ctx.id), &operator)
            .await
            .map_err(|e| format!("{system}'s failover state cannot be recorded, nothing was done: {e}"))?;
        if !failback {
            self.record_replicated_point(system, ctx, &operator).await;
        }
        let n = procedure.steps.len();
        let mut completed = 0;
        for (i, step) in procedure.steps.iter().enumerate() {
            let label = format!("step {}/{n}", i + 1);
            ctx.stage(&format!("{label}: {}", step.name), Unit::Steps);
            if let Err(e) = self.run_step(system, step, ctx, &label, &operator).await {
                let why = format!("{label} \"{}\" failed: {e}", step.name);
                return self.roll_back(system, &procedure, completed, why, ctx, &operator).await;
            }
            completed += 1;
            ctx.meter.advance(1);
        }
        if !failback {
            self.note_failover_state(
                system,
                StateChange::to(FailoverState::FailoverComplete).job(&ctx.id),
                &operator,
                ctx,
            )
            .await;
        }
        if !procedure.validate.is_empty() {
            if !failback {
                self.note_failover_state(
                    system,
                    StateChange::to(FailoverState::Validation).job(&ctx.id),
                    &operator,
                    ctx,
                )
                .await;
            }
            for (i, check) in procedure.validate.iter().enumerate() {
                let label = format!("check {}/{}", i + 1, procedure.validate.len());
                ctx.stage(&format!("{label}: {}", check.name), Unit::Steps);
                if let Err(e) = self.run_step(system, check, ctx, &label, &operator).await {
                    let why = format!("validation \"{}\" failed: {e}", check.name);
                    return self.roll_back(system, &procedure, completed, why, ctx, &operator).await;
                }
                ctx.meter.advance(1);
            }
        }
        let now = self.now();
        if failback {
            self.note_failover_state(
                system,
                StateChange::to(FailoverState::Normal).job(&ctx.id).detail("failed back"),
                &operator,
                ctx,
            )
            .await;
            let message = format!("{system} failed back: {n} steps done");
            ctx.log(message.clone());
            return Ok(message);
        }
        let _ = self
            .audit(
                NewAuditRecord::new(&operator, "failover.validated", system, Outcome::Succeeded)
                    .details(serde_json::json!({ "job": ctx.id })),
            )
            .await;
        let message = match procedure.commit_window {
            Some(window) => {
                let deadline = now + chrono::TimeDelta::from_std(window).unwrap_or_default();
                self.note_failover_state(
                    system,
                    StateChange::to(FailoverState::Recovered)
                        .job(&ctx.id)
                        .window(Some(deadline), Some(procedure.on_commit_timeout)),
                    &operator,
                    ctx,
                )
                .await;
                format!(
                    "{system} failed over and validated; commit window until {} (then {})",
                    deadline.format("%H:%M:%S UTC"),
                    match procedure.on_commit_timeout {
                        CommitDefault::Commit => "commit",
                        CommitDefault::Failback => "fail back",
                    }
                )
            }
            None => {
                self.note_failover_state(
                    system,
                    StateChange::to(FailoverState::Recovered).job(&ctx.id),
                    &operator,
                    ctx,
                )
                .await;
                self.note_failover_state(
                    system,
                    StateChange::to(FailoverState::Normal).job(&ctx.id).detail("committed: no commit window"),
                    &operator,
                    ctx,
                )
                .await;
                format!("{system} failed over and validated (committed: no commit window)")
            }
        };
        ctx.log(message.clone());
        Ok(message)
    }

    /// Just before a failover's first step: how far the standby is behind, read now. What it
    /// has is what the failover keeps (the replicated point); it goes in the job's log and the
    /// audit log, where the incident report finds it. A reading that fails is told, and the
    /// failover goes on: the commander chose at the gate.
    async fn record_replicated_point(&self, system: &str, ctx: &JobContext, operator: &str) {
        let Some(state) = self.read_replication(system).await else { return };
        let now = self.now();
        let details = match state.lag(now) {
            crate::model::replication::Lag::Known { lag, read_at } => {
                let point = read_at - chrono::TimeDelta::from_std(lag).unwrap_or_default();
                ctx.log(format!(
                    "⇄ the standby is {} behind ({}): the replicated point is {}",
                    human(lag),
                    state.source,
                    point.format("%H:%M:%S UTC")
                ));
                serde_json::json!({
                    "job": ctx.id, "source": state.source, "lag_ms": lag.as_millis() as u64,
                    "read_at": read_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "replicated_at": point.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                })
            }
            crate::model::replication::Lag::Unknown { why } => {
                ctx.log(format!("⇄ the standby's lag could not be read before the first step: {why}"));
                serde_json::json!({ "job": ctx.id, "source": state.source, "error": why })
            }
        };
        let outcome = if details.get("error").is_some() { Outcome::Failed } else { Outcome::Recorded };
        if let Err(e) = self
            .audit(NewAuditRecord::new(operator, "failover.replicated", system, outcome).details(details))
            .await
        {
            ctx.log(format!("  ✖ the replicated point could not be recorded: {e}"));
        }
    }

    pub(in crate::engine) async fn roll_back(
        &self,
        system: &str,
        procedure: &Procedure,
        completed: usize,
        why: String,
        ctx: &JobContext,
        operator: &str,
    ) -> Result<String, String> {
        if ctx.cancelled() {
            ctx.log("cancelled: rolling back what was done");
        }
        ctx.log(format!("✖ {why}"));
        // Per-step rollbacks undo the completed steps; a general one runs whole, once a step
        // has completed (before that there is nothing to undo).
        let steps: Vec<&Step> = if completed == 0 {
            Vec::new()
        } else if procedure.rollback.len() == procedure.steps.len() {
            procedure.rollback[..completed].iter().rev().collect()
        } else {
            procedure.rollback.iter().rev().collect()
        };
        if steps.is_empty() {
            let detail = "failed, nothing rolled back".to_owned();
            self.note_failover_state(
                system,
                StateChange::to(FailoverState::Failed).job(&ctx.id).detail(detail),
                operator,
                ctx,
            )
            .await;
            let what = if procedure.rollback.is_empty() {
                "no rollback is configured"
            } else {
                "no step had completed, so there was nothing to roll back"
            };
            return Err(format!("{why}; {what}: check {system} by hand"));
        }
        ctx.stage("rolling back", Unit::Steps);
        let names: Vec<String> = steps.iter().map(|s| format!("\"{}\" ({})", s.name, s.describe())).collect();
        for (k, step) in steps.iter().enumerate() {
            let label = format!("rollback {}/{}", k + 1, steps.len());
            // A rollback runs to its end even if the job was cancelled.
            if let Err(e) = self.run_step_uncancellable(system, step, ctx, &label, operator).await {
                let detail = format!("rollback failed at \"{}\"", step.name);
                self.note_failover_state(
                    system,
                    StateChange::to(FailoverState::Failed).job(&ctx.id).detail(detail),
                    operator,
                    ctx,
                )
                .await;
                return Err(format!(
                    "{why}; ROLLBACK FAILED at \"{}\": {e}. Do by hand, in order: {}",
                    step.name,
                    names[k..].join(", ")
                ));
            }
        }
        self.note_failover_state(
            system,
            StateChange::to(FailoverState::Failed).job(&ctx.id).detail("rolled back"),
            operator,
            ctx,
        )
        .await;
        Err(format!("{why}; rolled back ({} step{})", steps.len(), if steps.len() == 1 { "" } else { "s" }))
    }

    pub(in crate::engine) async fn run_step(
        &self,
        system: &str,
        step: &Step,
        ctx: &JobContext,
        label: &str,
        operator: &str,
    ) -> Result<(), String> {
        let work = self.run_step_uncancellable(system, step, ctx, label, operator);
        tokio::pin!(work);
        loop {
            tokio::select! {
                r = &mut work => return r,
                _ = tokio::time::sleep(POLL) => {
                    if ctx.cancelled() {
                        ctx.log(format!("■ {label} \"{}\" stopped: the job was cancelled", step.name));
                        return Err("cancelled".into());
                    }
                }
            }
        }
    }

    pub(in crate::engine) async fn run_step_uncancellable(
        &self,
        system: &str,
        step: &Step,
        ctx: &JobContext,
        label: &str,
        operator: &str,
    ) -> Result<(), String> {
        ctx.log(format!("▶ {label} {}: {}", step.name, step.describe()));
        let started = Instant::now();
        let result = match &step.action {
            StepAction::Run { program, args, env, cwd } => {
                let (tx, mut rx) = mpsc::unbounded_channel::<String>();
                let log = ctx.clone();
                let forward = tokio::spawn(async move {
                    while let Some(line) = rx.recv().await {
                        log.log(format!("  │ {line}"));
                    }
                });
                let program = Program { program, args, env, cwd: cwd.as_deref().map(Path::new) };
                let out = run(&program, step.timeout, Some(tx)).await;
                let _ = forward.await;
                match out {
                    Ok(o) if o.succeeded() => Ok(()),
                    Ok(o) => Err(o.describe(step.timeout)),
                    Err(e) => Err(e.0),
                }
            }
            StepAction::Http(call) => http_step(call, step.timeout).await.map(|status| {
                ctx.log(format!("  │ HTTP {status}"));
            }),
            StepAction::WaitHealthy { system: other } => {
                self.wait_healthy(other.as_deref().unwrap_or(system), step.timeout, ctx).await
            }
            StepAction::Manual { instruction } => self.wait_manual(ctx, instruction, operator).await,
        };
        let took = human(Duration::from_secs(started.elapsed().as_secs()));
        let (symbol, outcome) = match &result {
            Ok(()) => ("✔", Outcome::Succeeded),
            Err(e) if e == "cancelled" => ("■", Outcome::Cancelled),
            Err(_) => ("✖", Outcome::Failed),
        };
        match &result {
            Ok(()) => ctx.log(format!("{symbol} {label} {} ({took})", step.name)),
            Err(e) => ctx.log(format!("{symbol} {label} {} failed after {took}: {e}", step.name)),
        }
        let _ = self
            .audit(NewAuditRecord::new(operator, "failover.step", system, outcome).details(
                serde_json::json!({
                    "job": ctx.id, "step": label, "name": step.name, "does": step.describe(),
                    "error": result.as_ref().err(), "seconds": started.elapsed().as_secs(),
                }),
            ))
            .await;
        result
    }

    /// Until `system`'s health probe answers healthy, up to `timeout`.
    pub(in crate::engine) async fn wait_healthy(
        &self,
        system: &str,
        timeout: Duration,
        ctx: &JobContext,
    ) -> Result<(), String> {
        let check =
            self.config.system(system).and_then(|s| s.health.clone()).ok_or_else(|| {
                format!("\"{system}\" has no health check to wait for: add [systems.health]")
            })?;
        let prober = crate::engine::probe::Prober::new()?;
        let deadline = Instant::now() + timeout;
        let every = check.interval.min(Duration::from_secs(1));
        let mut last = String::new();
        let mut told = Instant::now();
        loop {
            let r = prober.probe(&check).await;
            if r.outcome == crate::model::Outcome::Healthy {
                ctx.log(format!("  │ {system} is healthy ({})", r.detail));
                return Ok(());
            }
            if r.detail != last || told.elapsed() > Duration::from_secs(10) {
                ctx.log(format!("  │ {system} not healthy yet: {}", r.detail));
                last = r.detail.clone();
                told = Instant::now();
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "{system} was not healthy within {} (last: {})",
                    human(timeout),
                    r.detail
                ));
            }
            // The last probe comes at the deadline, not one interval before it.
            tokio::time::sleep(every.min(deadline - now)).await;
        }
    }

    /// Pause until an operator confirms the instruction is done, or aborts.
    pub(in crate::engine) async fn wait_manual(
        &self,
        ctx: &JobContext,
        instruction: &str,
        operator: &str,
    ) -> Result<(), String> {
        ctx.wait_manual(instruction);
        ctx.log(format!(
            "  │ waiting for an operator: {instruction} (confirm in the console, or `warroom confirm {}`)",
            ctx.id
        ));
        let _ = self
            .audit(
                NewAuditRecord::new(operator, "failover.manual", &ctx.id, Outcome::Recorded).details(
                    serde_json::json!({ "job": ctx.id, "instruction": instruction, "waiting": true }),
                ),
            )
            .await;
        loop {
            for signal in self.take_signals(ctx).await {
                match signal.signal {
                    Signal::Confirm => {
                        ctx.log(format!("  │ confirmed done by {}", signal.by));
                        return Ok(());
                    }
                    Signal::Abort => return Err(format!("aborted by {} at the manual step", signal.by)),
                    Signal::Skip | Signal::Retry => ctx.log(format!(
                        "  │ {} sent {}, which a manual step does not take (confirm or abort)",
                        signal.by, signal.signal
                    )),
                }
            }
            if ctx.cancelled() {
                return Err("cancelled".into());
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Make the request; the status if it is the expected one.
pub(in crate::engine) async fn http_step(call: &HttpCall, timeout: Duration) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let method =
        reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|e| format!("bad method: {e}"))?;
    let mut req = client.request(method, &call.url);
    for (name, value) in &call.headers {
        let value = match value {
            HeaderValue::Plain(v) => v.clone(),
            HeaderValue::Secret(src) => src.resolve().map_err(|e| e.to_string())?.expose().to_owned(),
        };
        req = req.header(name, value);
    }
    if let Some(body) = &call.body {
        req = req.body(body.clone());
    }
    let resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {}", human(timeout))
        } else if e.is_connect() {
            "connection refused or unreachable".to_owned()
        } else {
            e.to_string()
        }
    })?;
    let status = resp.status().as_u16();
    if call.expect_status.accepts(status) {
        Ok(status)
    } else {
        let body: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
        Err(format!(
            "HTTP {status} (expected {}){}",
            call.expect_status,
            if body.is_empty() { String::new() } else { format!(": {body}") }
        ))
    }
}

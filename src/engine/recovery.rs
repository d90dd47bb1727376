//! Recovery plans, run: each affected system's procedure (failover if it has one, else a
//! restore of its newest verified backup) as soon as what it depends on has recovered,
//! independent systems in parallel. A system whose dependency failed is Blocked with the
//! cause; the operator can skip or retry one system while the plan runs, and when nothing can
//! go on the plan waits for that decision instead of giving up.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Engine;
use super::jobs::{JobSpec, Plan};
use crate::model::duration::{hms, human};
use crate::model::recovery::{RecoveryPlan, plan};
use crate::model::replication::{Choice, TradeOff};

/// How a system comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Failover,
    Restore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Pending,
    Running,
    Recovered,
    Failed,
    Blocked,
    Skipped,
}

impl Step {
    pub fn symbol(self) -> &'static str {
        match self {
            Step::Pending => "·",
            Step::Running => "▶",
            Step::Recovered => "✔",
            Step::Failed => "✖",
            Step::Blocked => "⊘",
            Step::Skipped => "↷",
        }
    }
}

/// One system of a running plan: what the console's incident screen and `warroom jobs` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub name: String,
    pub wave: usize,
    pub method: Method,
    pub state: Step,
    pub waits_for: Vec<String>,
    /// The job recovering it (the latest, after a retry).
    pub job: Option<String>,
    /// Why it failed or is blocked.
    pub cause: Option<String>,
    pub estimate_secs: u64,
    /// Forecast finish, seconds after the plan started.
    pub forecast_secs: u64,
    pub rto_left_secs: Option<u64>,
    pub breach: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A running plan's state, saved as the job's detail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanDetail {
    pub systems: Vec<PlanEntry>,
    /// What the plan waits for from the operator, if anything.
    pub waiting: Option<String>,
}

impl Engine {
    fn method(&self, system: &str) -> Result<Method, String> {
        let settings = self.config.system(system).ok_or_else(|| self.no_such_system(system))?;
        if settings.failover.is_some() {
            Ok(Method::Failover)
        } else if settings.backup.is_some() {
            Ok(Method::Restore)
        } else {
            Err(format!(
                "\"{system}\" has neither a failover procedure nor a backup: warroom cannot recover it (add [systems.failover] or [systems.backup])"
            ))
        }
    }

    /// The plan for `systems`: waves, forecast and RTO, each system's method.
    pub async fn recovery_plan(&self, systems: &[String]) -> Result<(RecoveryPlan, Vec<Method>), String> {
        self.recovery_plan_with_figures(systems).await.map(|(p, methods, _)| (p, methods))
    }

    /// [`Engine::recovery_plan`], with the recovery figures its forecast used (by estate index).
    async fn recovery_plan_with_figures(
        &self,
        systems: &[String],
    ) -> Result<(RecoveryPlan, Vec<Method>, Vec<crate::model::replication::RecoveryFigures>), String> {
        if systems.is_empty() {
            return Err("name the systems to recover".into());
        }
        let mut affected = Vec::new();
        let mut methods = vec![Method::Restore; self.config.estate.systems().len()];
        let mut estimates = vec![Duration::ZERO; methods.len()];
        let mut left = vec![None; methods.len()];
        // The same figures the console and the gate weigh.
        let figures = self.recovery_figures().await?;
        for name in systems {
            let i = self.config.estate.index_of(name).ok_or_else(|| self.no_such_system(name))?;
            if affected.contains(&i) {
                continue;
            }
            let method = self.method(name)?;
            methods[i] = method;
            estimates[i] = match method {
                Method::Failover => self.procedure(name, false)?.estimate(),
                Method::Restore => figures[i].restore.map(|(_, e)| e.duration()).ok_or_else(|| {
                    format!("\"{name}\" has no failover procedure and no verified backup to restore")
                })?,
            };
            // The forecast needs when the outage began: unreadable, the plan is not made on a guess.
            let outage =
                self.store.outage_start(name).await.map_err(|e| {
                    format!("state unreadable: when {name}'s outage began cannot be read: {e}")
                })?;
            if let Some(start) = outage
                && let Some(s) = self.config.estate.system(name)
            {
                let elapsed = (self.now() - start).to_std().unwrap_or_default();
                left[i] = Some(s.objective.rto.saturating_sub(elapsed));
            }
            affected.push(i);
        }
        let p = plan(self.config.estate.graph(), &affected, |i| estimates[i], |i| left[i])
            .map_err(|c| format!("the dependencies have a cycle: {c:?}"))?;
        Ok((p, methods, figures))
    }

    pub async fn plan_recover(
        &self,
        systems: &[String],
        incident: Option<&str>,
    ) -> Result<(JobSpec, Plan), String> {
        let (p, methods, figures) = self.recovery_plan_with_figures(systems).await?;
        let graph = self.config.estate.graph();
        // What each system's way back loses, with its standby's lag read now.
        let now = self.now();
        let readings = futures_util::future::join_all(
            p.systems.iter().map(|s| self.read_replication(graph.name(s.system))),
        )
        .await;
        let mut lines = Vec::new();
        for (w, wave) in p.waves.iter().enumerate() {
            lines.push(format!("wave {}", w + 1));
            for &i in wave {
                let Some(s) = p.get(i) else { continue };
                let method = match methods[i] {
                    Method::Failover => "failover",
                    Method::Restore => "restore newest verified backup",
                };
                let rto = match s.rto_left {
                    Some(l) if s.breach => {
                        format!("✖ WILL BREACH: back at +{} with {} left", hms(s.finish), hms(l))
                    }
                    Some(l) => format!("✔ back at +{}, {} left", hms(s.finish), hms(l)),
                    None => format!("back at +{} (not down)", hms(s.finish)),
                };
                let waits = if s.waits_for.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = s.waits_for.iter().map(|d| graph.name(*d)).collect();
                    format!(", after {}", names.join(", "))
                };
                lines.push(format!(
                    "  {:<14} {method}, ~{}{waits} · {rto}",
                    graph.name(i),
                    human(s.duration)
                ));
                if let (Some(system), Some(f)) = (self.config.estate.systems().get(i), figures.get(i)) {
                    let reading =
                        p.systems.iter().position(|x| x.system == i).and_then(|k| readings[k].as_ref());
                    let trade =
                        TradeOff::of(system.objective.rpo, self.config.estate.rpo_policy, f, reading, now);
                    let chosen = match methods[i] {
                        Method::Failover => Choice::Failover,
                        Method::Restore => Choice::Restore,
                    };
                    let mut data = format!("  {:<14} data: {}", "", trade.loss_words(chosen));
                    // The other way back, when it would lose less.
                    if trade.better.is_some_and(|b| b != chosen) {
                        data.push_str(&format!("; {}", trade.verdict_line()));
                    }
                    lines.push(data);
                }
            }
        }
        let breaches = p.breaches().count();
        lines.push(format!(
            "forecast   all back in {} along the critical path{}",
            human(p.total),
            if breaches > 0 {
                format!("; {breaches} system(s) will breach their RTO")
            } else {
                String::new()
            }
        ));
        lines.push(
            "then       each system's own procedure runs as part of this plan (no further approval)".into(),
        );
        let names: Vec<String> = p.systems.iter().map(|s| graph.name(s.system).to_owned()).collect();
        // Named after its first (most critical) system: what the typed policy asks for.
        let target = names.first().cloned().unwrap_or_else(|| "plan".to_owned());
        let title = format!("Recover {}", names.join(", "));
        // The incident's plan only if it recovers some of the incident's systems.
        let incident = match incident {
            Some(id) => match self.store.incident(id).await.ok().flatten() {
                Some(i) if i.systems.iter().any(|s| names.contains(s)) => Some(i.id),
                _ => None,
            },
            None => None,
        };
        if let Some(id) = &incident {
            lines.push(format!("incident   {id}: its report follows this plan"));
        }
        Ok((JobSpec::Recover { target, systems: names, incident }, Plan { title, lines }))
    }
}

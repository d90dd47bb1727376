//! Send a stakeholder notice: compose it again as approved (same stage, lists and message, the
//! facts as they are now), queue it in the outbox, and deliver for a bounded time. What is
//! still retrying when the job ends is delivered by whichever deliverer runs next (the console,
//! `warroom notify deliver`); the job's outcome says how many.

use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::engine::comms::deliver::Deliverer;
use crate::engine::jobs::{JobContext, Unit};
use crate::model::comms::{DeliveryState, Stage};

impl Engine {
    pub(in crate::engine) async fn send_notice(
        &self,
        incident: &str,
        stage: Stage,
        lists: &[String],
        message: &str,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let record = self.incident(Some(incident)).await?;
        let composition = self.compose(&record, stage, lists, message).await?;
        // Who approved it is who sent it, in the audit log: never a guess.
        let operator = self.job_operator(&ctx.id).await?;
        let rows = self.queue_notice(&composition, &operator, Some(&ctx.id)).await?;
        ctx.log(format!("queued {} ({} messages)", composition.notice, rows.len()));
        // An external update goes on the public page at once.
        if composition.status_text.is_some() && self.config.notify.statuspage.is_some() {
            match self.publish_statuspage_configured().await {
                Ok(at) => ctx.log(format!("status page updated: {at}")),
                Err(e) => {
                    ctx.log(format!("the status page could not be written (the notices still go): {e}"))
                }
            }
        }
        ctx.stage("delivering", Unit::Steps);
        ctx.meter.set_total(rows.len() as u64);
        let deliverer = Deliverer::new(self);
        let wait = self.config.notify.send_wait;
        let started = Instant::now();
        let mut reported: std::collections::BTreeMap<String, DeliveryState> = Default::default();
        loop {
            if let Err(e) = deliverer.round().await {
                ctx.log_once(format!("the outbox could not be read (trying again): {e}"));
            }
            let now_rows =
                self.store.outbox(Some(&composition.notice), None).await.map_err(|e| e.to_string())?;
            for r in &now_rows {
                if reported.get(&r.key) != Some(&r.state) && !r.state.pending() {
                    let why = r.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                    ctx.log(format!(
                        "{} {} {} <{}> {}{why}",
                        r.state.symbol(),
                        r.channel,
                        r.recipient,
                        r.address,
                        r.state
                    ));
                    reported.insert(r.key.clone(), r.state);
                }
            }
            let open = now_rows.iter().filter(|r| r.state.pending()).count();
            ctx.meter.set_done((now_rows.len() - open) as u64);
            ctx.set_detail(serde_json::json!({
                "notice": composition.notice,
                "rows": now_rows.iter().map(|r| serde_json::json!({
                    "recipient": r.recipient, "channel": r.channel, "address": r.address, "state": r.state,
                    "attempts": r.attempts, "error": r.last_error,
                })).collect::<Vec<_>>(),
            }));
            if open == 0 || started.elapsed() >= wait || ctx.cancelled() {
                let count = |f: fn(DeliveryState) -> bool| now_rows.iter().filter(|r| f(r.state)).count();
                let delivered = count(DeliveryState::delivered);
                let failed = count(|s| s == DeliveryState::FailedPermanent);
                let quiet = count(|s| s == DeliveryState::SuppressedQuietHours);
                let mut out = format!("{}: {delivered} delivered", composition.notice);
                if open > 0 {
                    let waiting: Vec<String> = now_rows
                        .iter()
                        .filter(|r| r.state.pending())
                        .map(|r| format!("{} {}", r.recipient, r.channel))
                        .collect();
                    out.push_str(&format!(
                        ", {open} still queued (retried until delivered: {})",
                        waiting.join(", ")
                    ));
                }
                if quiet > 0 {
                    out.push_str(&format!(", {quiet} held for quiet hours"));
                }
                if failed > 0 {
                    out.push_str(&format!(", {failed} refused for good"));
                    return Err(out);
                }
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

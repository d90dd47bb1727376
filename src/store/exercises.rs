//! Exercises, their events and the corrective actions they leave.
//!
//! An exercise is one row while it runs (`open = 1`; a unique index keeps it to one at a time)
//! and its events, each with its scenario time; the state on any host is their replay. An event
//! that must happen once (an inject's release) carries a key, so two consoles driving one
//! exercise record it once. Facilitators' events are audited in the same write.
//!
//! While an exercise is open every audit record carries `"exercise": ID` in its details (see
//! `audit::append_in`), so the log marks what was done in the exercise.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{NewAuditRecord, Store, StoreError, ts};
use crate::model::exercise::{CorrectiveAction, Element, ExerciseEvent, ExerciseRecord, ExerciseType};

const COLUMNS: &str =
    "id, name, kind, scenario, scenario_sha256, path, started_at, started_by, ended_at, checked";

fn decode(what: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: {e}").into())
}

fn record(r: &sqlx::any::AnyRow) -> Result<ExerciseRecord, sqlx::Error> {
    let kind: String = r.try_get(2)?;
    Ok(ExerciseRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        kind: ExerciseType::parse(&kind).map_err(|e| decode("an exercise's type", e))?,
        scenario: r.try_get(3)?,
        scenario_sha256: r.try_get(4)?,
        path: r.try_get(5)?,
        started_at: super::time("an exercise's start", r.try_get(6)?)?,
        started_by: r.try_get(7)?,
        ended_at: super::maybe_time("an exercise's end", r.try_get(8)?)?,
        checked: serde_json::from_str(&r.try_get::<String, _>(9)?)
            .map_err(|e| decode("an exercise's scenario this version cannot read", e))?,
    })
}

fn event(r: &sqlx::any::AnyRow) -> Result<ExerciseEvent, sqlx::Error> {
    let json: String = r.try_get(3)?;
    let offset: i64 = r.try_get(1)?;
    Ok(ExerciseEvent {
        at: super::time("an exercise event's time", r.try_get(0)?)?,
        offset: Duration::from_millis(u64::try_from(offset).unwrap_or_default()),
        author: r.try_get(2)?,
        kind: serde_json::from_str(&json)
            .map_err(|e| decode("an exercise event this version cannot read", e))?,
    })
}

/// One event to record, with its audit record when it is a facilitator's.
pub struct NewEvent {
    pub event: ExerciseEvent,
    pub audit: Option<NewAuditRecord>,
}

const ACTION_COLUMNS: &str = "id, exercise, objective, system, issue, action, element, owner, opened_at, due, closed_at, closed_by, evidence";

fn action(r: &sqlx::any::AnyRow) -> Result<CorrectiveAction, sqlx::Error> {
    let element: String = r.try_get(6)?;
    Ok(CorrectiveAction {
        id: r.try_get(0)?,
        exercise: r.try_get(1)?,
        objective: r.try_get(2)?,
        system: r.try_get(3)?,
        issue: r.try_get(4)?,
        action: r.try_get(5)?,
        element: Element::parse(&element).map_err(|e| decode("a corrective action's element", e))?,
        owner: r.try_get(7)?,
        opened_at: super::time("a corrective action's opening", r.try_get(8)?)?,
        due: super::time("a corrective action's due date", r.try_get(9)?)?,
        closed_at: super::maybe_time("a corrective action's closing", r.try_get(10)?)?,
        closed_by: r.try_get(11)?,
        evidence: r.try_get(12)?,
    })
}

async fn insert_events(
    store: &Store,
    w: &mut sqlx::AnyConnection,
    exercise: &str,
    events: &[NewEvent],
) -> Result<usize, StoreError> {
    let err = store.error("recording an exercise's events");
    let mut inserted = 0;
    for e in events {
        let seq: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM exercise_events WHERE exercise = $1")
                .bind(exercise)
                .fetch_one(&mut *w)
                .await
                .map_err(&err)?;
        let json = serde_json::to_string(&e.event.kind).map_err(|x| err(sqlx::Error::Encode(x.into())))?;
        let done = sqlx::query(
            "INSERT INTO exercise_events (exercise, seq, at, offset_ms, author, event, once_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (exercise, once_key) DO NOTHING",
        )
        .bind(exercise)
        .bind(seq)
        .bind(ts(e.event.at))
        .bind(i64::try_from(e.event.offset.as_millis()).unwrap_or(i64::MAX))
        .bind(&e.event.author)
        .bind(json)
        .bind(e.event.kind.once_key())
        .execute(&mut *w)
        .await
        .map_err(&err)?;
        if done.rows_affected() == 1 {
            inserted += 1;
            if let Some(audit) = &e.audit {
                store.append_in(w, audit, e.event.at).await?;
            }
        }
    }
    Ok(inserted)
}

impl Store {
    /// Open an exercise with its first event (its start) and audit record, one write. `false`
    /// when another exercise is open.
    pub async fn open_exercise(&self, x: &ExerciseRecord, start: NewEvent) -> Result<bool, StoreError> {
        let doing = "opening an exercise";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        let open: Option<String> = sqlx::query_scalar("SELECT id FROM exercises WHERE open = 1")
            .fetch_optional(&mut *w)
            .await
            .map_err(&err)?;
        if open.is_some() {
            w.rollback().await?;
            return Ok(false);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO exercises ({COLUMNS}, open) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, 1)"
        )))
        .bind(&x.id)
        .bind(&x.name)
        .bind(x.kind.name())
        .bind(&x.scenario)
        .bind(&x.scenario_sha256)
        .bind(&x.path)
        .bind(ts(x.started_at))
        .bind(&x.started_by)
        .bind(serde_json::to_string(&x.checked).map_err(|e| err(sqlx::Error::Encode(e.into())))?)
        .execute(&mut *w)
        .await
        .map_err(&err)?;
        insert_events(self, &mut w, &x.id, std::slice::from_ref(&start)).await?;
        w.commit().await?;
        Ok(true)
    }

    /// The exercise open now, if there is one.
    pub async fn open_exercise_record(&self) -> Result<Option<ExerciseRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM exercises WHERE open = 1")))
            .fetch_optional(self.pool())
            .await
            .map_err(self.error("reading the open exercise"))?;
        row.as_ref().map(record).transpose().map_err(self.error("reading the open exercise"))
    }

    pub async fn exercise(&self, id: &str) -> Result<Option<ExerciseRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM exercises WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(self.error("reading an exercise"))?;
        row.as_ref().map(record).transpose().map_err(self.error("reading an exercise"))
    }

    /// Every exercise, newest first.
    pub async fn exercises(&self) -> Result<Vec<ExerciseRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM exercises ORDER BY started_at DESC, id DESC"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading the exercises"))?;
        rows.iter().map(record).collect::<Result<_, _>>().map_err(self.error("reading the exercises"))
    }

    /// How many exercises started on the day `prefix` names (`EX-20261202-`), for the next id.
    pub async fn exercises_with_prefix(&self, prefix: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM exercises WHERE id LIKE $1 || '%'")
            .bind(prefix)
            .fetch_one(self.pool())
            .await
            .map_err(self.error("counting the exercises"))
    }

    /// Record events (in order). Those already recorded (by their once-key) are left out; the
    /// number recorded.
    pub async fn record_exercise_events(
        &self,
        exercise: &str,
        events: &[NewEvent],
    ) -> Result<usize, StoreError> {
        let mut w = self.write("recording an exercise's events").await?;
        let n = insert_events(self, &mut w, exercise, events).await?;
        w.commit().await?;
        Ok(n)
    }

    /// Record the exercise's last events (its end among them) and close it: one write.
    pub async fn end_exercise(
        &self,
        exercise: &str,
        events: &[NewEvent],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let doing = "ending an exercise";
        let mut w = self.write(doing).await?;
        insert_events(self, &mut w, exercise, events).await?;
        sqlx::query("UPDATE exercises SET ended_at = $1, open = NULL WHERE id = $2 AND open = 1")
            .bind(ts(at))
            .bind(exercise)
            .execute(&mut *w)
            .await
            .map_err(self.error(doing))?;
        w.commit().await
    }

    /// An exercise's events, oldest first.
    pub async fn exercise_events(&self, exercise: &str) -> Result<Vec<ExerciseEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, offset_ms, author, event FROM exercise_events WHERE exercise = $1 ORDER BY seq",
        )
        .bind(exercise)
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading an exercise's events"))?;
        rows.iter().map(event).collect::<Result<_, _>>().map_err(self.error("reading an exercise's events"))
    }

    /// Add corrective actions with their audit records, one write.
    pub async fn add_actions(
        &self,
        actions: &[(CorrectiveAction, NewAuditRecord)],
    ) -> Result<(), StoreError> {
        let doing = "recording corrective actions";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        for (a, audit) in actions {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO corrective_actions ({ACTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL)"
            )))
            .bind(&a.id)
            .bind(&a.exercise)
            .bind(&a.objective)
            .bind(&a.system)
            .bind(&a.issue)
            .bind(&a.action)
            .bind(a.element.name())
            .bind(&a.owner)
            .bind(ts(a.opened_at))
            .bind(ts(a.due))
            .execute(&mut *w)
            .await
            .map_err(&err)?;
            self.append_in(&mut w, audit, a.opened_at).await?;
        }
        w.commit().await
    }

    /// Every corrective action, oldest first.
    pub async fn actions(&self) -> Result<Vec<CorrectiveAction>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM corrective_actions ORDER BY opened_at, id"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading the corrective actions"))?;
        rows.iter()
            .map(action)
            .collect::<Result<_, _>>()
            .map_err(self.error("reading the corrective actions"))
    }

    /// How many corrective actions there are (for the next id).
    pub async fn action_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM corrective_actions")
            .fetch_one(self.pool())
            .await
            .map_err(self.error("counting the corrective actions"))
    }

    /// Close an open action with its evidence and audit record, one write. `false` when it
    /// is not open (closed already, or no such action).
    pub async fn close_action(
        &self,
        id: &str,
        by: &str,
        evidence: &str,
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let doing = "closing a corrective action";
        let mut w = self.write(doing).await?;
        let done = sqlx::query(
            "UPDATE corrective_actions SET closed_at = $1, closed_by = $2, evidence = $3 WHERE id = $4 AND closed_at IS NULL",
        )
        .bind(ts(at))
        .bind(by)
        .bind(evidence)
        .bind(id)
        .execute(&mut *w)
        .await
        .map_err(self.error(doing))?;
        if done.rows_affected() == 0 {
            w.rollback().await?;
            return Ok(false);
        }
        self.append_in(&mut w, audit, at).await?;
        w.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exercise::EventKind;
    use crate::store::Outcome;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    fn exercise(id: &str) -> ExerciseRecord {
        ExerciseRecord {
            id: id.into(),
            name: "drill".into(),
            kind: ExerciseType::Tabletop,
            scenario: "name = \"drill\"".into(),
            checked: crate::model::exercise::run::tests::scenario(vec![]),
            scenario_sha256: "00".into(),
            path: "s.toml".into(),
            started_at: t(0),
            started_by: "fac".into(),
            ended_at: None,
        }
    }

    fn ev(at: i64, kind: EventKind) -> NewEvent {
        NewEvent {
            event: ExerciseEvent {
                at: t(at),
                offset: Duration::from_secs(at as u64),
                author: "fac".into(),
                kind,
            },
            audit: None,
        }
    }

    #[tokio::test]
    async fn one_open_at_a_time_events_once_and_audit_marked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let start = NewEvent {
            audit: Some(NewAuditRecord::new("fac", "exercise.started", "EX-1", Outcome::Recorded)),
            ..ev(0, EventKind::Started { speed: 1.0 })
        };
        assert!(store.open_exercise(&exercise("EX-1"), start).await.unwrap());
        assert!(
            !store.open_exercise(&exercise("EX-2"), ev(0, EventKind::Started { speed: 1.0 })).await.unwrap()
        );
        let release = || ev(5, EventKind::Released { inject: "I-1".into() });
        assert_eq!(
            store
                .record_exercise_events("EX-1", &[release(), release(), ev(6, EventKind::Paused)])
                .await
                .unwrap(),
            2
        );
        let events = store.exercise_events("EX-1").await.unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[1].offset, Duration::from_secs(5));
        // Every record appended while it is open says so.
        store
            .append_audit(&NewAuditRecord::new("bob", "backup.proposed", "db", Outcome::Recorded), t(7))
            .await
            .unwrap();
        let records = store.audit_records(Some(2)).await.unwrap();
        assert!(records.iter().all(|r| r.details.contains("\"exercise\":\"EX-1\"")), "{records:?}");
        store.end_exercise("EX-1", &[ev(8, EventKind::Ended)], t(8)).await.unwrap();
        assert!(store.open_exercise_record().await.unwrap().is_none());
        store
            .append_audit(&NewAuditRecord::new("bob", "backup.proposed", "db", Outcome::Recorded), t(9))
            .await
            .unwrap();
        assert!(!store.audit_records(Some(1)).await.unwrap()[0].details.contains("exercise"));
        assert!(store.verify_audit().await.unwrap().problem.is_none());
        assert!(
            store.open_exercise(&exercise("EX-2"), ev(10, EventKind::Started { speed: 1.0 })).await.unwrap()
        );
    }
}

//! Corrective actions: the improvement plan's rows, tracked to closure (closed by evidence).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// HSEEP's capability elements: where the fix lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Element {
    Planning,
    Organisation,
    Equipment,
    Training,
    Exercise,
}

impl Element {
    pub fn name(self) -> &'static str {
        match self {
            Element::Planning => "planning",
            Element::Organisation => "organisation",
            Element::Equipment => "equipment",
            Element::Training => "training",
            Element::Exercise => "exercise",
        }
    }

    pub fn parse(s: &str) -> Result<Element, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "planning" | "plan" => Ok(Element::Planning),
            "organisation" | "organization" => Ok(Element::Organisation),
            "equipment" | "systems" => Ok(Element::Equipment),
            "training" => Ok(Element::Training),
            "exercise" | "exercises" => Ok(Element::Exercise),
            _ => Err(format!(
                "there is no capability element \"{s}\": use planning, organisation, equipment, training or exercise"
            )),
        }
    }
}

/// One row of an improvement plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrectiveAction {
    pub id: String,
    pub exercise: Option<String>,
    pub objective: Option<String>,
    /// The system it is against, when it is one (its detail screen and `status` show it).
    pub system: Option<String>,
    pub issue: String,
    pub action: String,
    pub element: Element,
    pub owner: String,
    pub opened_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    Open,
    Overdue,
    Closed,
}

impl ActionStatus {
    pub fn name(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::Overdue => "OVERDUE",
            ActionStatus::Closed => "closed",
        }
    }
}

impl CorrectiveAction {
    pub fn status(&self, now: DateTime<Utc>) -> ActionStatus {
        match self.closed_at {
            Some(_) => ActionStatus::Closed,
            None if now > self.due => ActionStatus::Overdue,
            None => ActionStatus::Open,
        }
    }
}

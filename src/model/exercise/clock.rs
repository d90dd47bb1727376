//! The scenario clock: an exercise's own time, which the facilitator starts, pauses, resumes,
//! speeds up and jumps. Every countdown reads it, so pausing stops them all.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Scenario time = what had run up to the last change + the wall time since, times the speed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScenarioClock {
    /// Scenario time when it last changed (start, pause, resume, speed, jump).
    base: Duration,
    /// Wall time it has been running since; `None` while paused.
    running_since: Option<DateTime<Utc>>,
    /// Scenario seconds per wall second.
    speed: f64,
}

impl ScenarioClock {
    /// A clock started at `now` at `speed` (1 = real time).
    pub fn start(now: DateTime<Utc>, speed: f64) -> ScenarioClock {
        ScenarioClock { base: Duration::ZERO, running_since: Some(now), speed: valid_speed(speed) }
    }

    /// Scenario time at wall time `now`.
    pub fn at(&self, now: DateTime<Utc>) -> Duration {
        match self.running_since {
            Some(since) => {
                let wall = (now - since).to_std().unwrap_or_default();
                self.base + wall.mul_f64(self.speed)
            }
            None => self.base,
        }
    }

    pub fn paused(&self) -> bool {
        self.running_since.is_none()
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn pause(&mut self, now: DateTime<Utc>) {
        self.base = self.at(now);
        self.running_since = None;
    }

    pub fn resume(&mut self, now: DateTime<Utc>) {
        if self.running_since.is_none() {
            self.running_since = Some(now);
        }
    }

    pub fn set_speed(&mut self, now: DateTime<Utc>, speed: f64) {
        self.base = self.at(now);
        if self.running_since.is_some() {
            self.running_since = Some(now);
        }
        self.speed = valid_speed(speed);
    }

    /// Move the scenario to `to` (forward only: what was released stays released).
    pub fn jump(&mut self, now: DateTime<Utc>, to: Duration) {
        let here = self.at(now);
        self.base = here.max(to);
        if self.running_since.is_some() {
            self.running_since = Some(now);
        }
    }

    /// The wall time it takes the scenario to reach `offset` from `now`; `None` while paused
    /// (nothing comes due) or when it is already there.
    pub fn wall_until(&self, now: DateTime<Utc>, offset: Duration) -> Option<Duration> {
        self.running_since?;
        let left = offset.checked_sub(self.at(now))?;
        Some(left.div_f64(self.speed))
    }
}

/// A speed is positive and finite; anything else runs in real time.
fn valid_speed(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 { speed.min(10_000.0) } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    #[test]
    fn pause_stops_the_clock_and_resume_carries_on() {
        let mut c = ScenarioClock::start(t(0), 1.0);
        assert_eq!(c.at(t(60)), Duration::from_secs(60));
        c.pause(t(60));
        assert_eq!(c.at(t(600)), Duration::from_secs(60));
        assert_eq!(c.wall_until(t(600), Duration::from_secs(120)), None);
        c.resume(t(600));
        assert_eq!(c.at(t(630)), Duration::from_secs(90));
        assert_eq!(c.wall_until(t(630), Duration::from_secs(120)), Some(Duration::from_secs(30)));
    }

    #[test]
    fn speed_and_jump_move_scenario_time() {
        let mut c = ScenarioClock::start(t(0), 10.0);
        assert_eq!(c.at(t(6)), Duration::from_secs(60));
        assert_eq!(c.wall_until(t(6), Duration::from_secs(120)), Some(Duration::from_secs(6)));
        c.set_speed(t(6), 1.0);
        assert_eq!(c.at(t(16)), Duration::from_secs(70));
        c.jump(t(16), Duration::from_secs(600));
        assert_eq!(c.at(t(16)), Duration::from_secs(600));
        c.jump(t(16), Duration::from_secs(10));
        assert_eq!(c.at(t(16)), Duration::from_secs(600), "a jump never goes back");
        assert_eq!(ScenarioClock::start(t(0), f64::NAN).speed(), 1.0);
    }
}

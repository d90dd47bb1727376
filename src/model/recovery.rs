//! Recovery plans: in which order a set of affected systems comes back, and when each is
//! forecast to be back against its RTO. Pure: durations and budgets are passed in.
//!
//! A system starts once every affected system it depends on (directly, or through systems
//! that are not affected) has recovered; systems with nothing to wait for run in parallel. The
//! waves are the same order in readable steps: wave 1 waits for nothing, wave 2 for wave 1...
//! The forecast follows the critical path: a system's start is the latest finish of what it
//! waits for, its finish that plus its own duration.

use std::time::Duration;

use serde::Serialize;

use super::graph::{Cycle, DependencyGraph};

/// One system in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub system: usize,
    /// 0 for the first wave.
    pub wave: usize,
    /// The affected systems it waits for (directly or through unaffected ones).
    pub waits_for: Vec<usize>,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub duration: Duration,
    /// From the plan's start.
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub start: Duration,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub finish: Duration,
    /// What is left of its RTO budget when the plan starts (`None`: not down, no clock).
    #[serde(serialize_with = "opt_secs")]
    pub rto_left: Option<Duration>,
    /// The forecast finish is past the RTO budget left.
    pub breach: bool,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_secs()),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryPlan {
    /// Each wave's systems, in estate order.
    pub waves: Vec<Vec<usize>>,
    /// Every affected system, in the order of the waves.
    pub systems: Vec<Planned>,
    /// When the last system is forecast back.
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub total: Duration,
}

impl RecoveryPlan {
    pub fn get(&self, system: usize) -> Option<&Planned> {
        self.systems.iter().find(|p| p.system == system)
    }

    pub fn breaches(&self) -> impl Iterator<Item = &Planned> {
        self.systems.iter().filter(|p| p.breach)
    }
}

/// Plan the recovery of `affected` (indices into `graph`). `duration(i)` is system i's
/// procedure estimate, `rto_left(i)` its RTO budget left. O(systems + dependencies).
pub fn plan(
    graph: &DependencyGraph,
    affected: &[usize],
    duration: impl Fn(usize) -> Duration,
    rto_left: impl Fn(usize) -> Option<Duration>,
) -> Result<RecoveryPlan, Vec<Cycle>> {
    let n = graph.len();
    let order = graph.recovery_waves()?;
    let mut is_affected = vec![false; n];
    for &a in affected {
        if let Some(slot) = is_affected.get_mut(a) {
            *slot = true;
        }
    }
    // For every system, in dependency order: when what it needs is back (ready), the wave
    // after the latest affected one it needs, and which affected systems it waits for. An
    // unaffected system passes its dependencies' through: it is up, but what it relays is not.
    let mut ready = vec![Duration::ZERO; n];
    let mut finish = vec![Duration::ZERO; n];
    let mut wave_after = vec![0usize; n];
    let mut waits: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut systems = Vec::new();
    for node in order.iter().flatten().copied() {
        let mut start = Duration::ZERO;
        let mut wave = 0;
        let mut waits_for: Vec<usize> = Vec::new();
        for &d in graph.depends_on(node) {
            start = start.max(finish[d]);
            wave = wave.max(wave_after[d]);
            if is_affected[d] {
                waits_for.push(d);
            } else {
                waits_for.extend(waits[d].iter().copied());
            }
        }
        waits_for.sort_unstable();
        waits_for.dedup();
        ready[node] = start;
        if is_affected[node] {
            let own = duration(node);
            finish[node] = start + own;
            wave_after[node] = wave + 1;
            let left = rto_left(node);
            systems.push(Planned {
                system: node,
                wave,
                waits_for: waits_for.clone(),
                duration: own,
                start,
                finish: finish[node],
                rto_left: left,
                breach: left.is_some_and(|l| finish[node] > l),
            });
        } else {
            finish[node] = start;
            wave_after[node] = wave;
        }
        waits[node] = waits_for;
    }
    let waves_count = systems.iter().map(|p| p.wave + 1).max().unwrap_or(0);
    let mut waves = vec![Vec::new(); waves_count];
    for p in &systems {
        waves[p.wave].push(p.system);
    }
    for w in &mut waves {
        w.sort_unstable();
    }
    systems.sort_by_key(|p| (p.wave, p.system));
    let total = systems.iter().map(|p| p.finish).max().unwrap_or_default();
    Ok(RecoveryPlan { waves, systems, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn dependencies_come_first_and_independent_systems_share_a_wave() {
        let (g, _) = DependencyGraph::build([
            ("database", vec![]),
            ("cache", vec![]),
            ("api", vec!["database", "cache"]),
            ("web", vec!["api"]),
            ("wiki", vec![]),
        ]);
        let d = [secs(600), secs(60), secs(120), secs(30), secs(300)];
        let p = plan(&g, &[0, 1, 2, 3, 4], |i| d[i], |i| (i == 3).then(|| secs(700))).unwrap();
        assert_eq!(p.waves, vec![vec![0, 1, 4], vec![2], vec![3]]);
        let web = p.get(3).unwrap();
        assert_eq!((web.start, web.finish), (secs(720), secs(750)), "the critical path: database, api, web");
        assert!(web.breach, "750 s is past the 700 s left");
        assert_eq!(p.total, secs(750));
        assert_eq!(p.get(2).unwrap().waits_for, vec![0, 1]);
    }

    #[test]
    fn an_unaffected_system_in_between_still_orders_the_affected_ones() {
        // api needs queue (up) which needs database (down): api waits for the database.
        let (g, _) = DependencyGraph::build([
            ("database", vec![]),
            ("queue", vec!["database"]),
            ("api", vec!["queue"]),
        ]);
        let p = plan(&g, &[0, 2], |_| secs(10), |_| None).unwrap();
        assert_eq!(p.waves, vec![vec![0], vec![2]]);
        assert_eq!(p.get(2).unwrap().waits_for, vec![0]);
        assert_eq!(p.get(2).unwrap().start, secs(10));
    }

    fn random_graph(n: usize, edges: &[(usize, usize)]) -> DependencyGraph {
        // Edges only from a later node to an earlier one: acyclic by construction.
        let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let nodes: Vec<(String, Vec<String>)> = (0..n)
            .map(|i| {
                let deps =
                    edges.iter().filter(|(a, b)| *a == i && b < a).map(|(_, b)| names[*b].clone()).collect();
                (names[i].clone(), deps)
            })
            .collect();
        DependencyGraph::build(nodes).0
    }

    proptest! {
        #[test]
        fn every_system_starts_after_what_it_waits_for(
            n in 2usize..40,
            edges in proptest::collection::vec((0usize..40, 0usize..40), 0..120),
            affected_mask in proptest::collection::vec(any::<bool>(), 40),
            durations in proptest::collection::vec(1u64..500, 40),
        ) {
            let g = random_graph(n, &edges);
            let affected: Vec<usize> = (0..n).filter(|i| affected_mask[*i]).collect();
            let p = plan(&g, &affected, |i| secs(durations[i]), |_| None).unwrap();
            prop_assert_eq!(p.systems.len(), affected.len());
            for s in &p.systems {
                for d in g.transitive_dependencies(s.system) {
                    if let Some(dep) = p.get(d) {
                        prop_assert!(dep.finish <= s.start, "{} starts before {} is back", s.system, d);
                        prop_assert!(dep.wave < s.wave);
                    }
                }
            }
            // The total is the longest chain, never the sum.
            let sum: Duration = p.systems.iter().map(|s| s.duration).sum();
            prop_assert!(p.total <= sum);
        }
    }
}

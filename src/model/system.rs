//! Systems and the estate they form.

use super::RecoveryObjective;
use super::graph::{Cycle, DependencyGraph};
use super::rpo::RpoPolicy;
use super::tier::{Tier, TierObjectives};

/// One system of the estate, as the commander sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub name: String,
    pub tier: Tier,
    /// The objectives in force: the system's own where it set them, else its tier's.
    pub objective: RecoveryObjective,
    pub depends_on: Vec<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
}

/// Every system, the graph of their dependencies, and the objectives per tier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estate {
    systems: Vec<System>,
    graph: DependencyGraph,
    pub tiers: TierObjectives,
    pub rpo_policy: RpoPolicy,
}

impl Estate {
    /// Assemble an estate. Unknown dependencies are left out of the graph (configuration
    /// validation reports them before an estate is built).
    pub fn new(systems: Vec<System>, tiers: TierObjectives, rpo_policy: RpoPolicy) -> Estate {
        let (graph, _unknown) =
            DependencyGraph::build(systems.iter().map(|s| (s.name.clone(), s.depends_on.iter())));
        Estate { systems, graph, tiers, rpo_policy }
    }

    pub fn systems(&self) -> &[System] {
        &self.systems
    }

    pub fn graph(&self) -> &DependencyGraph {
        &self.graph
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.graph.index_of(name)
    }

    pub fn system(&self, name: &str) -> Option<&System> {
        self.index_of(name).and_then(|i| self.systems.get(i))
    }

    /// The systems of one tier, in configuration order, with their indices.
    pub fn tier(&self, tier: Tier) -> impl Iterator<Item = (usize, &System)> {
        self.systems.iter().enumerate().filter(move |(_, s)| s.tier == tier)
    }

    /// Recovery order in waves of system indices (see [`DependencyGraph::recovery_waves`]).
    pub fn recovery_waves(&self) -> Result<Vec<Vec<usize>>, Vec<Cycle>> {
        self.graph.recovery_waves()
    }

    /// Names of everything an outage of `name` impacts, nearest first.
    pub fn impact_of(&self, name: &str) -> Vec<&str> {
        self.index_of(name)
            .map(|i| self.graph.transitive_dependents(i))
            .unwrap_or_default()
            .into_iter()
            .map(|i| self.graph.name(i))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A system with its tier's standard objectives (shared by the model's tests).
    pub(crate) fn system(name: &str, tier: Tier, deps: &[&str]) -> System {
        System {
            name: name.into(),
            tier,
            objective: tier.standard_objective(),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            owner: None,
            description: None,
        }
    }

    #[test]
    fn estate_answers_by_name_and_tier() {
        let estate = Estate::new(
            vec![
                system("database", Tier::One, &[]),
                system("api", Tier::One, &["database"]),
                system("wiki", Tier::Four, &[]),
            ],
            TierObjectives::standard(),
            RpoPolicy::default(),
        );
        assert_eq!(estate.system("api").map(|s| s.tier), Some(Tier::One));
        assert_eq!(estate.tier(Tier::One).count(), 2);
        assert_eq!(estate.impact_of("database"), vec!["api"]);
        assert_eq!(estate.recovery_waves().map(|w| w.len()), Ok(2));
    }
}

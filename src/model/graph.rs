//! The dependency graph of an estate: recovery order in waves, impact of an outage, cycles.
//!
//! Nodes are indices into the estate's system list. An edge `a -> b` means "a depends on b":
//! b must be recovered before a, and an outage of b impacts a.

use std::collections::{HashMap, VecDeque};

/// A dependency that names no system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDependency {
    /// The system that declared the dependency.
    pub from: usize,
    /// Position of the dependency in that system's `depends_on` list.
    pub position: usize,
    pub name: String,
}

/// Systems that depend on each other in a loop, listed in dependency order; the first system
/// depends on the second, ..., and the last depends on the first again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<usize>);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyGraph {
    names: Vec<String>,
    index: HashMap<String, usize>,
    depends_on: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
}

impl DependencyGraph {
    /// Build the graph from `(name, depends_on)` pairs. Dependencies that name no node are left
    /// out of the graph and returned; a repeated name keeps its first node.
    pub fn build<I, S, D>(nodes: I) -> (DependencyGraph, Vec<UnknownDependency>)
    where
        I: IntoIterator<Item = (S, D)>,
        S: Into<String>,
        D: IntoIterator,
        D::Item: AsRef<str>,
    {
        let mut graph = DependencyGraph::default();
        let mut declared: Vec<Vec<String>> = Vec::new();
        for (name, deps) in nodes {
            let name = name.into();
            let i = graph.names.len();
            graph.index.entry(name.clone()).or_insert(i);
            graph.names.push(name);
            declared.push(deps.into_iter().map(|d| d.as_ref().to_owned()).collect());
        }
        let n = graph.names.len();
        graph.depends_on = vec![Vec::new(); n];
        graph.dependents = vec![Vec::new(); n];
        let mut unknown = Vec::new();
        for (from, deps) in declared.into_iter().enumerate() {
            for (position, dep) in deps.into_iter().enumerate() {
                match graph.index.get(&dep) {
                    Some(&to) => {
                        if !graph.depends_on[from].contains(&to) {
                            graph.depends_on[from].push(to);
                            graph.dependents[to].push(from);
                        }
                    }
                    None => unknown.push(UnknownDependency { from, position, name: dep }),
                }
            }
        }
        (graph, unknown)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, node: usize) -> &str {
        self.names.get(node).map(String::as_str).unwrap_or("?")
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// What `node` depends on directly.
    pub fn depends_on(&self, node: usize) -> &[usize] {
        self.depends_on.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    /// What depends on `node` directly.
    pub fn dependents(&self, node: usize) -> &[usize] {
        self.dependents.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Everything an outage of `node` impacts: its dependents, their dependents, and so on,
    /// nearest first. The node itself is not included.
    pub fn transitive_dependents(&self, node: usize) -> Vec<usize> {
        self.reach(node, &self.dependents)
    }

    /// Everything `node` needs running, directly or indirectly, nearest first.
    pub fn transitive_dependencies(&self, node: usize) -> Vec<usize> {
        self.reach(node, &self.depends_on)
    }

    fn reach(&self, start: usize, edges: &[Vec<usize>]) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut out = Vec::new();
        let mut queue = VecDeque::new();
        if start < self.len() {
            seen[start] = true;
            queue.push_back(start);
        }
        while let Some(n) = queue.pop_front() {
            for &m in &edges[n] {
                if !seen[m] {
                    seen[m] = true;
                    out.push(m);
                    queue.push_back(m);
                }
            }
        }
        out
    }

    /// The recovery order: wave 0 holds systems that depend on nothing, wave k systems whose
    /// dependencies are all in earlier waves. Systems in one wave can recover in parallel.
    /// Within a wave, nodes keep their original order. Fails with every cycle if there is one.
    pub fn recovery_waves(&self) -> Result<Vec<Vec<usize>>, Vec<Cycle>> {
        let n = self.len();
        let mut waiting: Vec<usize> = self.depends_on.iter().map(Vec::len).collect();
        let mut wave: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut waves = Vec::new();
        let mut placed = 0;
        while !wave.is_empty() {
            placed += wave.len();
            let mut next = Vec::new();
            for &node in &wave {
                for &dependent in &self.dependents[node] {
                    waiting[dependent] -= 1;
                    if waiting[dependent] == 0 {
                        next.push(dependent);
                    }
                }
            }
            next.sort_unstable();
            waves.push(std::mem::replace(&mut wave, next));
        }
        if placed == n { Ok(waves) } else { Err(self.cycles()) }
    }

    /// Every dependency cycle, one concrete loop per strongly connected component, each
    /// starting at its earliest node. Empty when the graph is acyclic.
    pub fn cycles(&self) -> Vec<Cycle> {
        let mut cycles: Vec<Cycle> = strongly_connected(&self.depends_on)
            .into_iter()
            .filter_map(|component| self.loop_within(&component))
            .collect();
        cycles.sort_by_key(|c| c.0.first().copied());
        cycles
    }

    /// A loop through the component's earliest node, staying inside the component.
    fn loop_within(&self, component: &[usize]) -> Option<Cycle> {
        let &start = component.iter().min()?;
        if component.len() == 1 {
            return self.depends_on[start].contains(&start).then(|| Cycle(vec![start]));
        }
        let mut inside = vec![false; self.len()];
        for &c in component {
            inside[c] = true;
        }
        // Breadth-first from start to find the shortest way back to it.
        let mut parent: Vec<Option<usize>> = vec![None; self.len()];
        let mut queue = VecDeque::from([start]);
        let mut seen = vec![false; self.len()];
        seen[start] = true;
        while let Some(n) = queue.pop_front() {
            for &m in &self.depends_on[n] {
                if m == start {
                    let mut path = vec![n];
                    let mut at = n;
                    while let Some(p) = parent[at] {
                        path.push(p);
                        at = p;
                    }
                    path.reverse();
                    return Some(Cycle(path));
                }
                if inside[m] && !seen[m] {
                    seen[m] = true;
                    parent[m] = Some(n);
                    queue.push_back(m);
                }
            }
        }
        None
    }

    /// `api -> cache -> api`
    pub fn describe_cycle(&self, cycle: &Cycle) -> String {
        let mut parts: Vec<&str> = cycle.0.iter().map(|&i| self.name(i)).collect();
        if let Some(&first) = parts.first() {
            parts.push(first);
        }
        parts.join(" -> ")
    }
}

/// Tarjan's algorithm, iterative so deep chains of thousands of systems cannot overflow the stack.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut components = Vec::new();

    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        // (node, next edge to look at)
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;

        while let Some(&mut (v, ref mut edge)) = call.last_mut() {
            if let Some(&w) = edges[v].get(*edge) {
                *edge += 1;
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn graph(nodes: &[(&str, &[&str])]) -> DependencyGraph {
        let (g, unknown) = DependencyGraph::build(nodes.iter().map(|(n, d)| (*n, d.iter())));
        assert!(unknown.is_empty(), "{unknown:?}");
        g
    }

    fn names(g: &DependencyGraph, nodes: &[usize]) -> Vec<String> {
        nodes.iter().map(|&i| g.name(i).to_owned()).collect()
    }

    #[test]
    fn waves_put_dependencies_first() {
        let g = graph(&[
            ("api", &["database", "cache"]),
            ("cache", &["database"]),
            ("database", &[]),
            ("wiki", &[]),
            ("edge", &["api"]),
        ]);
        let waves: Vec<Vec<String>> = g.recovery_waves().unwrap().iter().map(|w| names(&g, w)).collect();
        assert_eq!(waves, vec![vec!["database", "wiki"], vec!["cache"], vec!["api"], vec!["edge"]]);
    }

    #[test]
    fn impact_is_transitive_nearest_first() {
        let g = graph(&[
            ("database", &[]),
            ("api", &["database"]),
            ("edge", &["api"]),
            ("reporting", &["database"]),
            ("wiki", &[]),
        ]);
        let db = g.index_of("database").unwrap();
        assert_eq!(names(&g, &g.transitive_dependents(db)), vec!["api", "reporting", "edge"]);
        let edge = g.index_of("edge").unwrap();
        assert_eq!(names(&g, &g.transitive_dependencies(edge)), vec!["api", "database"]);
        assert!(g.transitive_dependents(g.index_of("wiki").unwrap()).is_empty());
    }

    #[test]
    fn cycles_are_reported_as_loops() {
        let g =
            graph(&[("api", &["cache"]), ("cache", &["api"]), ("database", &[]), ("selfish", &["selfish"])]);
        let cycles = g.cycles();
        let text: Vec<String> = cycles.iter().map(|c| g.describe_cycle(c)).collect();
        assert_eq!(text, vec!["api -> cache -> api", "selfish -> selfish"]);
        assert!(g.recovery_waves().is_err());
    }

    #[test]
    fn unknown_dependencies_are_returned_with_their_position() {
        let (g, unknown) = DependencyGraph::build([("api", vec!["cache", "databse"]), ("cache", vec![])]);
        assert_eq!(unknown, vec![UnknownDependency { from: 0, position: 1, name: "databse".into() }]);
        assert_eq!(g.depends_on(0), &[1]);
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let n = 20_000;
        let nodes: Vec<(String, Vec<String>)> = (0..n)
            .map(|i| (format!("s{i}"), if i == 0 { vec![] } else { vec![format!("s{}", i - 1)] }))
            .collect();
        let (g, _) = DependencyGraph::build(nodes);
        assert_eq!(g.recovery_waves().unwrap().len(), n);
        assert!(g.cycles().is_empty());
    }

    /// A random acyclic graph: node i may only depend on nodes with a larger index, then
    /// the nodes are listed in a shuffled order so the input order gives nothing away.
    fn dag() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
        (1usize..40)
            .prop_flat_map(|n| {
                let edges = proptest::collection::vec(
                    proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
                    n,
                );
                (edges, Just(n)).prop_map(|(edges, n)| {
                    edges
                        .into_iter()
                        .enumerate()
                        .map(|(i, picks)| {
                            let deps = if i + 1 < n {
                                picks.iter().map(|p| format!("n{}", i + 1 + p.index(n - i - 1))).collect()
                            } else {
                                vec![]
                            };
                            (format!("n{i}"), deps)
                        })
                        .collect()
                })
            })
            .prop_shuffle()
    }

    proptest! {
        #[test]
        fn every_wave_order_respects_every_dependency(nodes in dag()) {
            let (g, unknown) = DependencyGraph::build(nodes);
            prop_assert!(unknown.is_empty());
            prop_assert!(g.cycles().is_empty());
            let waves = g.recovery_waves().map_err(|c| TestCaseError::fail(format!("{c:?}")))?;
            let mut wave_of = vec![usize::MAX; g.len()];
            for (w, wave) in waves.iter().enumerate() {
                for &n in wave {
                    prop_assert_eq!(wave_of[n], usize::MAX, "placed twice");
                    wave_of[n] = w;
                }
            }
            for n in 0..g.len() {
                prop_assert!(wave_of[n] != usize::MAX, "never placed");
                for &d in g.depends_on(n) {
                    prop_assert!(wave_of[d] < wave_of[n], "{} before its dependency {}", g.name(n), g.name(d));
                }
                // As early as possible: something in the previous wave holds it back.
                if wave_of[n] > 0 {
                    prop_assert!(g.depends_on(n).iter().any(|&d| wave_of[d] == wave_of[n] - 1));
                }
            }
        }

        #[test]
        fn cycles_are_always_found(nodes in dag(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            // Close a loop: pick an edge path a ->* b that exists, or add b -> a and a -> b.
            let mut nodes = nodes;
            let n = nodes.len();
            let (ia, ib) = (a.index(n), b.index(n));
            let name_a = nodes[ia].0.clone();
            let name_b = nodes[ib].0.clone();
            nodes[ia].1.push(name_b.clone());
            nodes[ib].1.push(name_a.clone());
            let (g, _) = DependencyGraph::build(nodes);
            let cycles = g.cycles();
            prop_assert!(!cycles.is_empty());
            prop_assert!(g.recovery_waves().is_err());
            for cycle in &cycles {
                let c = &cycle.0;
                for k in 0..c.len() {
                    let next = c[(k + 1) % c.len()];
                    prop_assert!(g.depends_on(c[k]).contains(&next), "{} is not a loop", g.describe_cycle(cycle));
                }
            }
            // The loop a <-> b lies in one strongly connected component; a cycle of that
            // component must be reported (it may go through another of its members).
            let with_self = |x: usize| { let mut v = g.transitive_dependencies(x); v.push(x); v };
            let involved = cycles.iter().flat_map(|c| c.0.iter()).any(|&x| {
                with_self(ia).contains(&x) && with_self(x).contains(&ia)
            });
            prop_assert!(involved, "the loop through {} was not reported", name_a);
        }
    }
}

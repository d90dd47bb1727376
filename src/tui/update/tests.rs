//! Sequences of actions, and the state they lead to.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::console::MapEnv;
use crate::config::{Config, load_str};
use crate::model::Tier;
use crate::model::audit::Verification;
use crate::tui::action::Event;
use crate::tui::action::ReloadedConfig;
use crate::tui::event::to_action;
use crate::tui::theme::ThemeCatalog;

const EXAMPLE: &str = include_str!("../../../config.toml.example");

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 22, 41, 7).single().unwrap()
}

fn config(text: &str) -> Config {
    let env = MapEnv::new([("HOME", "/home/alice"), ("USER", "alice")]);
    load_str(Path::new("/etc/warroom/config.toml"), text, &env).unwrap().config
}

fn state() -> State {
    let mut s = State::new(&config(EXAMPLE), ThemeCatalog::load(&[]), Mode::Live, false, now());
    update(&mut s, Action::Resize { width: 120, height: 40 }, now());
    s
}

fn run(s: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    actions.into_iter().flat_map(|a| update(s, a, now())).collect()
}

fn cmd(c: KeyCommand) -> Action {
    Action::Command(c)
}

fn typed(text: &str) -> Vec<Action> {
    text.chars().map(|c| Action::Edit(Edit::Insert(c.to_string()))).collect()
}

fn selected_name(s: &State) -> &str {
    s.selected.and_then(|i| s.estate.systems().get(i)).map(|x| x.name.as_str()).unwrap_or("-")
}

fn detail_name(s: &State) -> Option<&str> {
    match s.screen {
        Screen::Detail(d) => s.estate.systems().get(d.system).map(|x| x.name.as_str()),
        _ => None,
    }
}

#[test]
fn navigation_moves_through_tiers_in_dashboard_order() {
    let mut s = state();
    assert_eq!(selected_name(&s), "edge");
    run(&mut s, [cmd(KeyCommand::Down)]);
    assert_eq!(selected_name(&s), "api");
    run(&mut s, [cmd(KeyCommand::Down), cmd(KeyCommand::Down), cmd(KeyCommand::Down)]);
    assert_eq!(selected_name(&s), "auth", "crosses into tier 2");
    run(&mut s, [cmd(KeyCommand::Bottom)]);
    assert_eq!(selected_name(&s), "file-shares");
    run(&mut s, [cmd(KeyCommand::Down)]);
    assert_eq!(selected_name(&s), "file-shares", "stays at the bottom");
    run(&mut s, [cmd(KeyCommand::Top), cmd(KeyCommand::Up)]);
    assert_eq!(selected_name(&s), "edge");
    assert_eq!(s.scroll, 0);
}

#[test]
fn enter_opens_a_system_and_esc_backs_out() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Down), cmd(KeyCommand::Open)]);
    assert_eq!(detail_name(&s), Some("api"));
    // Into the dependency pane, down to the second dependency, open it.
    run(&mut s, [cmd(KeyCommand::NextPane)]);
    assert!(matches!(s.screen, Screen::Detail(Detail { pane: DetailPane::Dependencies, cursor: 0, .. })));
    run(&mut s, [cmd(KeyCommand::Down), cmd(KeyCommand::Open)]);
    assert_eq!(detail_name(&s), Some("cache"));
    run(&mut s, [cmd(KeyCommand::Back)]);
    assert_eq!(detail_name(&s), Some("api"), "back to where we came from");
    assert!(matches!(s.screen, Screen::Detail(Detail { cursor: 1, .. })), "with the cursor where it was");
    run(&mut s, [cmd(KeyCommand::Back)]);
    assert_eq!(s.screen, Screen::Dashboard);
    run(&mut s, [cmd(KeyCommand::Back)]);
    assert_eq!(s.screen, Screen::Dashboard, "esc on the dashboard goes nowhere");
}

#[test]
fn the_filter_narrows_live_and_esc_clears_it() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Filter)]);
    assert!(s.filter_input.is_some());
    run(&mut s, typed("data"));
    assert_eq!(s.filter, "data");
    assert_eq!(selected_name(&s), "database", "the selection follows the filter");
    let shown: Vec<_> = dashboard_lines(&s, now());
    assert_eq!(shown, vec![DashboardLine::Tier(Tier::One), DashboardLine::System(3)]);
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert!(s.filter_input.is_none());
    assert_eq!(s.filter, "data", "enter keeps the filter");
    run(&mut s, [cmd(KeyCommand::Back)]);
    assert_eq!(s.filter, "", "esc on the dashboard clears it");
    assert_eq!(selected_name(&s), "database", "and keeps the selection");

    run(&mut s, [cmd(KeyCommand::Filter)]);
    run(&mut s, typed("4"));
    assert_eq!(selected_name(&s), "wiki");
    run(&mut s, [Action::Edit(Edit::Backspace)]);
    run(&mut s, typed("never 2"));
    assert_eq!(selected_name(&s), "auth");
    run(&mut s, [Action::Edit(Edit::Cancel)]);
    assert_eq!(s.filter, "");
    assert!(s.filter_input.is_none());
}

#[test]
fn keys_are_text_while_typing() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Filter)]);
    let key = |c: char| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    // `q` quits when navigating, but is a letter in the filter.
    assert_eq!(to_action(&s, key('q')), Some(Action::Edit(Edit::Insert("q".into()))));
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert_eq!(to_action(&s, key('q')), Some(Action::Command(KeyCommand::Quit)));
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(to_action(&s, ctrl_c), Some(Action::Quit));
}

#[test]
fn the_palette_runs_commands_and_completes() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Palette)]);
    run(&mut s, typed("system payments"));
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert_eq!(detail_name(&s), Some("payments"));
    assert!(s.overlay.is_none());

    run(&mut s, [cmd(KeyCommand::Palette)]);
    run(&mut s, typed("th"));
    run(&mut s, [Action::Edit(Edit::Complete)]);
    match &s.overlay {
        Some(Overlay::Palette { input, .. }) => assert_eq!(input.text, "theme "),
        other => panic!("{other:?}"),
    }
    run(&mut s, [Action::Edit(Edit::Next), Action::Edit(Edit::Complete)]);
    match &s.overlay {
        Some(Overlay::Palette { input, .. }) => assert_eq!(input.text, "theme light"),
        other => panic!("{other:?}"),
    }
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert_eq!(s.theme.name, "light");
    assert_eq!(s.message.as_ref().map(|m| m.text.as_str()), Some("theme light"));

    run(&mut s, [cmd(KeyCommand::Palette)]);
    run(&mut s, typed("system databse"));
    run(&mut s, [Action::Edit(Edit::Submit)]);
    match &s.overlay {
        Some(Overlay::Palette { error, .. }) => {
            assert_eq!(error.as_deref(), Some("there is no system \"databse\"; did you mean \"database\"?"))
        }
        other => panic!("the palette stays open with the error: {other:?}"),
    }
    run(&mut s, [Action::Edit(Edit::Cancel)]);
    assert!(s.overlay.is_none());

    run(&mut s, [cmd(KeyCommand::Palette)]);
    run(&mut s, typed("tier 3"));
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert_eq!(s.screen, Screen::Dashboard);
    assert_eq!(selected_name(&s), "reporting");

    run(&mut s, [cmd(KeyCommand::Palette)]);
    run(&mut s, typed("quit"));
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert!(s.quit);
}

#[test]
fn theme_switch_keeps_no_color() {
    let mut s = State::new(&config(EXAMPLE), ThemeCatalog::load(&[]), Mode::Live, true, now());
    run(&mut s, [Action::SetTheme("colorblind".into())]);
    assert_eq!(s.theme.name, "colorblind");
    assert!(s.theme.no_color);
}

#[test]
fn resizing_keeps_the_selection_in_view() {
    let mut s = state();
    run(&mut s, [Action::Resize { width: 80, height: 10 }]);
    run(&mut s, [cmd(KeyCommand::Bottom)]);
    let rows = layout::dashboard_rows(10);
    let lines = dashboard_lines(&s, now());
    let pos = lines.iter().position(|l| *l == DashboardLine::System(s.selected.unwrap())).unwrap();
    assert!(pos >= s.scroll && pos < s.scroll + rows, "line {pos} visible from {} ({rows} rows)", s.scroll);
    run(&mut s, [Action::Resize { width: 80, height: 40 }]);
    assert_eq!(s.scroll, 0, "everything fits again");
    run(&mut s, [Action::Resize { width: 80, height: 8 }, cmd(KeyCommand::Top)]);
    assert_eq!(s.scroll, 0);
    run(&mut s, [cmd(KeyCommand::PageDown)]);
    assert!(s.scroll > 0);
}

#[test]
fn help_takes_every_key_until_closed() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Help), cmd(KeyCommand::Down), cmd(KeyCommand::Down)]);
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: 2 }));
    assert_eq!(selected_name(&s), "edge", "the dashboard did not move");
    run(&mut s, [cmd(KeyCommand::Quit)]);
    assert_eq!(s.overlay, None);
    assert!(!s.quit, "q closes help first");
}

#[test]
fn the_audit_screen_asks_the_engine_and_shows_what_came_back() {
    let mut s = state();
    let effects = run(&mut s, [cmd(KeyCommand::Audit)]);
    assert_eq!(effects, vec![Effect::LoadAudit]);
    assert_eq!(s.screen, Screen::Audit);
    assert!(s.audit.loading);
    let verification = Verification { records: 0, head: None, problem: None };
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::AuditLoaded {
            records: vec![],
            verification: verification.clone(),
        })],
    );
    assert!(!s.audit.loading);
    assert_eq!(s.audit.verification, Some(verification));
    run(&mut s, [cmd(KeyCommand::Back)]);
    assert_eq!(s.screen, Screen::Dashboard);
}

#[test]
fn a_reload_keeps_the_selection_and_a_broken_one_keeps_everything() {
    let mut s = state();
    run(&mut s, [Action::OpenSystem("search".into())]);
    let effects = run(&mut s, [cmd(KeyCommand::Reload)]);
    assert_eq!(effects, vec![Effect::ReloadConfig]);

    let smaller = config(
        "[[systems]]\nname = \"wiki\"\ntier = 4\n\n[[systems]]\nname = \"search\"\ntier = 2\ndepends_on = [\"wiki\"]\n",
    );
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::ConfigReloaded(Box::new(
            ReloadedConfig::from_config(&smaller, 1),
        )))],
    );
    assert_eq!(s.estate.systems().len(), 2);
    assert_eq!(detail_name(&s), Some("search"), "still looking at the same system");
    assert_eq!(selected_name(&s), "search");
    assert_eq!(
        s.message.as_ref().map(|m| m.text.as_str()),
        Some("configuration reloaded: 2 systems (1 warning: run warroom check)")
    );

    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::ConfigRejected("error: unknown dependency".into()))],
    );
    assert!(
        matches!(&s.overlay, Some(Overlay::Problems { text, .. }) if text.contains("unknown dependency"))
    );
    assert_eq!(s.estate.systems().len(), 2, "the running estate is untouched");
    run(&mut s, [cmd(KeyCommand::Back)]);
    assert!(s.overlay.is_none());
}

#[test]
fn a_reload_that_removes_the_open_system_goes_home() {
    let mut s = state();
    run(&mut s, [Action::OpenSystem("payments".into())]);
    let smaller = config("[[systems]]\nname = \"wiki\"\ntier = 4\n");
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::ConfigReloaded(Box::new(
            ReloadedConfig::from_config(&smaller, 0),
        )))],
    );
    assert_eq!(s.screen, Screen::Dashboard);
    assert_eq!(selected_name(&s), "wiki");
}

#[test]
fn an_observers_console_says_read_only_and_a_reload_to_a_role_lifts_it() {
    use crate::engine::access::Standing;
    let mut s = state();
    s.set_standing(Some(Standing { label: "observer".into(), read_only: true }));
    assert_eq!(s.mode, Mode::ReadOnly);
    let mut reloaded = ReloadedConfig::from_config(&config(EXAMPLE), 0);
    reloaded.standing = Some(Standing { label: "commander".into(), read_only: false });
    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::ConfigReloaded(Box::new(reloaded)))]);
    assert_eq!(s.mode, Mode::Live);
    assert_eq!(s.standing.as_ref().map(|s| s.label.as_str()), Some("commander"));
}

#[test]
fn read_only_shows_in_the_mode() {
    let mut text = EXAMPLE.replace("read_only = false", "read_only = true");
    text.push('\n');
    let s = State::new(&config(&text), ThemeCatalog::load(&[]), Mode::Live, false, now());
    assert_eq!(s.mode, Mode::ReadOnly);
}

#[test]
fn enter_in_the_palette_runs_the_chosen_suggestion() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Palette)]);
    run(&mut s, typed("theme "));
    // Down past the end stays on the last suggestion; up from there reaches the second.
    run(&mut s, (0..10).map(|_| Action::Edit(Edit::Next)));
    run(&mut s, [Action::Edit(Edit::Previous), Action::Edit(Edit::Previous)]);
    run(&mut s, [Action::Edit(Edit::Submit)]);
    assert_eq!(s.theme.name, "light");
}

#[test]
fn overlays_do_not_scroll_past_their_end() {
    let mut s = state();
    run(&mut s, [cmd(KeyCommand::Help)]);
    run(&mut s, (0..200).map(|_| cmd(KeyCommand::Down)));
    let Some(Overlay::Help { scroll }) = s.overlay.clone() else { panic!() };
    run(&mut s, [cmd(KeyCommand::Up)]);
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: scroll - 1 }), "one up moves one line back");
    run(&mut s, [cmd(KeyCommand::Top), cmd(KeyCommand::Bottom)]);
    assert_eq!(s.overlay, Some(Overlay::Help { scroll }));
}

#[test]
fn jumping_to_the_last_tier_keeps_the_screen_full() {
    let mut s = state();
    run(&mut s, [Action::JumpToTier(Tier::Four)]);
    assert_eq!(selected_name(&s), "wiki");
    assert_eq!(s.scroll, 0, "everything fits at 120x40, so nothing scrolls away");
}

fn job(id: &str, kind: &str, target: &str, state: crate::engine::jobs::JobState) -> JobSnapshot {
    JobSnapshot {
        id: id.to_owned(),
        kind: crate::engine::jobs::JobKind::parse(kind).unwrap(),
        target: target.to_owned(),
        state,
        plan: crate::engine::jobs::Plan {
            title: format!("{kind} {target}"),
            lines: vec!["from       nas".to_owned(), "into       /restore/here".to_owned()],
        },
        policy: ApprovalPolicy::Typed,
        proposed_by: "alice".to_owned(),
        proposed_at: Some(now()),
        approved_by: None,
        approved_at: None,
        started_at: None,
        finished_at: None,
        outcome: None,
        progress: Default::default(),
        log: Vec::new(),
        approvals: Vec::new(),
        detail: None,
    }
}

fn gate(s: &State) -> Option<&crate::tui::state::Gate> {
    match &s.overlay {
        Some(Overlay::Gate(g)) => Some(g),
        _ => None,
    }
}

#[test]
fn a_backup_key_plans_first_and_the_gate_opens_with_cancel_focused() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    let effects = run(&mut s, [cmd(KeyCommand::Backup)]);
    let system = selected_name(&s).to_owned();
    assert_eq!(effects, vec![Effect::Propose(Request::Backup { system: system.clone() })]);
    assert!(s.overlay.is_none(), "nothing opens until the plan is back");

    let mut proposed = job("J-1", "backup", &system, JobState::Proposed);
    proposed.policy = ApprovalPolicy::Confirm;
    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Proposed(Box::new(proposed)))]);
    let g = gate(&s).unwrap();
    assert_eq!(g.focus, crate::tui::state::GateFocus::Cancel);
    // Enter at once presses Cancel: nothing runs, and the engine records the refusal.
    let effects = run(&mut s, [Action::Gate(GateKey::Press)]);
    assert_eq!(effects, vec![Effect::CancelProposal { id: "J-1".into() }]);
    assert!(s.overlay.is_none());
}

#[test]
fn esc_on_the_gate_cancels_and_approve_starts_the_job() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    let mut proposed = job("J-2", "backup", "database", JobState::Proposed);
    proposed.policy = ApprovalPolicy::Confirm;
    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Proposed(Box::new(proposed.clone())))]);
    assert_eq!(
        run(&mut s, [Action::Gate(GateKey::Cancel)]),
        vec![Effect::CancelProposal { id: "J-2".into() }]
    );

    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Proposed(Box::new(proposed)))]);
    let effects = run(&mut s, [Action::Gate(GateKey::Toggle), Action::Gate(GateKey::Press)]);
    assert_eq!(effects, vec![Effect::Approve { id: "J-2".into(), proof: Proof::Confirmed }]);
}

#[test]
fn the_typed_policy_needs_the_system_name_exactly() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::Proposed(Box::new(job(
            "J-3",
            "restore",
            "database",
            JobState::Proposed,
        ))))],
    );
    let keys: Vec<Action> = "datab".chars().map(|c| Action::Gate(GateKey::Insert(c.to_string()))).collect();
    run(&mut s, keys);
    let effects = run(&mut s, [Action::Gate(GateKey::Toggle), Action::Gate(GateKey::Press)]);
    assert!(effects.is_empty(), "a partial name approves nothing");
    assert!(gate(&s).unwrap().error.as_deref().unwrap().contains("type database"));
    let keys: Vec<Action> = "ase".chars().map(|c| Action::Gate(GateKey::Insert(c.to_string()))).collect();
    run(&mut s, keys);
    let effects = run(&mut s, [Action::Gate(GateKey::Press)]);
    assert_eq!(effects, vec![Effect::Approve { id: "J-3".into(), proof: Proof::Typed("database".into()) }]);
}

#[test]
fn the_gate_takes_every_key_even_bound_ones() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::Proposed(Box::new(job(
            "J-4",
            "restore",
            "database",
            JobState::Proposed,
        ))))],
    );
    // q would quit, b would back up: in the gate they are letters of the name.
    for c in ['q', 'b'] {
        let action = to_action(&s, Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))).unwrap();
        assert_eq!(action, Action::Gate(GateKey::Insert(c.to_string())));
    }
    let enter = to_action(&s, Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))).unwrap();
    assert_eq!(enter, Action::Gate(GateKey::Press));
}

#[test]
fn job_events_update_the_list_and_a_finished_job_reloads_the_backups() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    let mut j = job("J-5", "backup", "database", JobState::Running);
    j.progress.done = 10;
    j.progress.total = Some(100);
    assert!(
        run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j.clone())))]).is_empty()
    );
    assert_eq!(s.running_jobs(), 1);
    j.progress.done = 60;
    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j.clone())))]);
    assert_eq!(s.jobs.len(), 1, "the same job, updated in place");
    assert_eq!(s.jobs[0].progress.done, 60);
    j.state = JobState::Succeeded;
    j.outcome = Some("backup B-1: full".into());
    let effects = run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j.clone())))]);
    assert_eq!(effects, vec![Effect::LoadBackups]);
    assert!(s.message.as_ref().unwrap().text.contains("succeeded"));
    // The same event again (a late progress report) reloads nothing.
    assert!(run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j)))]).is_empty());
}

#[test]
fn quitting_while_a_job_runs_asks_first() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(job(
            "J-6",
            "backup",
            "database",
            JobState::Running,
        ))))],
    );
    run(&mut s, [cmd(KeyCommand::Quit)]);
    assert!(!s.quit);
    assert!(matches!(s.overlay, Some(Overlay::ConfirmQuit { running: 1 })));
    // Any other key stays.
    let n = to_action(&s, Event::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE))).unwrap();
    run(&mut s, [n]);
    assert!(!s.quit && s.overlay.is_none());
    run(&mut s, [cmd(KeyCommand::Quit)]);
    let y = to_action(&s, Event::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE))).unwrap();
    run(&mut s, [y]);
    assert!(s.quit);
}

#[test]
fn cancelling_a_running_job_goes_through_the_gate() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(job(
            "J-7",
            "backup",
            "database",
            JobState::Running,
        ))))],
    );
    run(&mut s, [Action::ShowJobs, cmd(KeyCommand::CancelJob)]);
    let g = gate(&s).unwrap();
    assert_eq!(g.subject, crate::tui::state::GateSubject::Cancellation);
    assert_eq!(g.policy, ApprovalPolicy::Confirm, "cancel's default policy");
    assert!(run(&mut s, [Action::Gate(GateKey::Press)]).is_empty(), "Keep running is focused");
    run(&mut s, [cmd(KeyCommand::CancelJob)]);
    let effects = run(&mut s, [Action::Gate(GateKey::Toggle), Action::Gate(GateKey::Press)]);
    assert_eq!(effects, vec![Effect::CancelJob { id: "J-7".into() }]);
}

#[test]
fn the_palette_plans_backups_and_restores() {
    let mut s = state();
    let mut actions = vec![cmd(KeyCommand::Palette)];
    actions.extend(typed("restore database /srv/restore-here"));
    actions.push(Action::Edit(Edit::Submit));
    let effects = run(&mut s, actions);
    assert_eq!(
        effects,
        vec![Effect::Propose(Request::Restore {
            system: "database".into(),
            id: None,
            to: Some("/srv/restore-here".into())
        })]
    );
}

#[test]
fn the_palette_sends_a_notice_with_its_stage_lists_and_words() {
    let mut s = state();
    let mut actions = vec![cmd(KeyCommand::Palette)];
    actions.extend(typed("notify update to=executive,legal Standby promoted, writes resume"));
    actions.push(Action::Edit(Edit::Submit));
    let effects = run(&mut s, actions);
    assert_eq!(
        effects,
        vec![Effect::Propose(Request::Notify {
            stage: Some(crate::model::comms::Stage::Update),
            lists: vec!["executive".into(), "legal".into()],
            message: "Standby promoted, writes resume".into(),
        })]
    );
    // `n`: the notice that is due, to the stage's lists.
    let effects = run(&mut s, [cmd(KeyCommand::Notify)]);
    assert_eq!(
        effects,
        vec![Effect::Propose(Request::Notify { stage: None, lists: Vec::new(), message: String::new() })]
    );
}

#[test]
fn two_proposals_at_once_come_to_the_gate_in_turn() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    let notice = job("J-1", "notify", "INC-1", JobState::Proposed);
    let plan = job("J-2", "recover", "database", JobState::Proposed);
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::ProposedSeveral {
            jobs: vec![notice, plan],
            problems: Vec::new(),
        })],
    );
    let on = |s: &State| match &s.overlay {
        Some(Overlay::Gate(g)) => Some(g.job.id.clone()),
        _ => None,
    };
    assert_eq!(on(&s).as_deref(), Some("J-1"));
    // Cancel the first: the second opens.
    let effects = run(&mut s, [Action::Gate(GateKey::Press)]);
    assert_eq!(effects, vec![Effect::CancelProposal { id: "J-1".into() }]);
    assert_eq!(on(&s).as_deref(), Some("J-2"));
}

#[test]
fn a_manual_step_answered_here_is_not_asked_again_and_its_prompt_closes_when_it_moves_on() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    let mut j = job("J-7", "failover", "database", JobState::Running);
    j.progress.stage = "manual: Stop replication".into();
    j.progress.waiting =
        Some(crate::engine::jobs::Waiting::Manual { instruction: "Stop replication".into() });
    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j.clone())))]);
    assert!(matches!(s.overlay, Some(Overlay::Manual { .. })), "the prompt opens");
    // Done: the signal goes; the job's progress still says it waits, for a moment.
    let effects = run(&mut s, [Action::Manual(ManualKey::Toggle), Action::Manual(ManualKey::Press)]);
    assert_eq!(
        effects,
        vec![Effect::Signal {
            job: "J-7".into(),
            signal: crate::engine::jobs::Signal::Confirm,
            argument: None
        }]
    );
    run(&mut s, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j.clone())))]);
    assert!(s.overlay.is_none(), "not asked again");
    // Another process's console shows the prompt; the step is answered there, the prompt closes.
    let mut other = state();
    run(&mut other, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j.clone())))]);
    assert!(matches!(other.overlay, Some(Overlay::Manual { .. })));
    j.progress.stage = "step 3/3 Repoint".into();
    j.progress.waiting = None;
    run(&mut other, [Action::Engine(crate::tui::action::EngineEvent::Job(Box::new(j)))]);
    assert!(other.overlay.is_none(), "the prompt closed when its step moved on");
}

#[test]
fn in_a_typed_gate_the_matching_name_and_enter_approve() {
    use crate::engine::jobs::JobState;
    let mut s = state();
    run(
        &mut s,
        [Action::Engine(crate::tui::action::EngineEvent::Proposed(Box::new(job(
            "J-8",
            "restore",
            "database",
            JobState::Proposed,
        ))))],
    );
    assert_eq!(gate(&s).unwrap().focus, GateFocus::Cancel, "the gate opens on Cancel");
    let keys: Vec<Action> =
        "database".chars().map(|c| Action::Gate(GateKey::Insert(c.to_string()))).collect();
    run(&mut s, keys);
    assert_eq!(gate(&s).unwrap().focus, GateFocus::Approve, "the name typed: Enter approves");
    run(&mut s, [Action::Gate(GateKey::Backspace)]);
    assert_eq!(gate(&s).unwrap().focus, GateFocus::Cancel, "no longer the name: Enter cancels");
    let effects = run(&mut s, [Action::Gate(GateKey::Insert("e".into())), Action::Gate(GateKey::Press)]);
    assert_eq!(effects, vec![Effect::Approve { id: "J-8".into(), proof: Proof::Typed("database".into()) }]);
}

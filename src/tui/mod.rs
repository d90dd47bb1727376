//! The console: the war-room terminal UI.
//!
//! The Elm architecture (docs/ARCHITECTURE.md): [`action::Event`] from outside becomes an
//! [`action::Action`]; [`update::update`] changes the [`state::State`] and returns
//! [`action::Effect`]s that [`app`] carries out on the engine; [`views`] draw the state.

pub mod action;
pub mod app;
pub mod effects;
pub mod event;
pub mod filter;
pub mod help;
pub mod keymap;
pub mod layout;
pub mod palette;
pub mod state;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod update;
pub mod views;

pub use app::{Options, run};

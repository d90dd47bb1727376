//! warroom: a terminal war-room console for business continuity and disaster recovery.
//!
//! Data flows one way (see docs/ARCHITECTURE.md): `config` parses and checks the file into the
//! pure domain `model`; `store` keeps state and the audit chain; `cli` offers the headless
//! commands.

pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod model;
pub mod sim;
pub mod store;
pub mod tui;

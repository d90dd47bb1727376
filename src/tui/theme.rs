//! Themes: colours named by purpose, loaded from `themes/*.toml`.
//!
//! The four built-in themes are compiled in, so the binary needs no files. A file with the same
//! name in a themes folder replaces a built-in; a broken file gives a warning and the built-in
//! (or the default) is used instead. `NO_COLOR` turns every colour off: states keep their
//! symbols and words, and emphasis moves to bold and reverse video.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::model::{HealthState, RpoStatus, Severity, Tier};

/// The built-in themes (their names are `config::console::BUILT_IN_THEMES`).
const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

/// The colours of a theme, by purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub text: Color,
    pub muted: Color,
    pub accent: Color,
    pub ok: Color,
    pub warning: Color,
    pub danger: Color,
    pub info: Color,
    pub unknown: Color,
    pub selection_fg: Color,
    pub selection_bg: Color,
    pub border: Color,
    pub border_focused: Color,
    pub header_fg: Color,
    pub header_bg: Color,
    pub tiers: [Color; 4],
    /// The screen's background; `Reset` (the terminal's own) unless the theme sets one.
    pub background: Color,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    pub description: String,
    pub palette: Palette,
    /// `NO_COLOR`: styles carry modifiers only.
    pub no_color: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    colors: BTreeMap<String, String>,
}

const COLOR_KEYS: &[&str] = &[
    "text",
    "muted",
    "accent",
    "ok",
    "warning",
    "danger",
    "info",
    "unknown",
    "selection_fg",
    "selection_bg",
    "border",
    "border_focused",
    "header_fg",
    "header_bg",
    "tier1",
    "tier2",
    "tier3",
    "tier4",
    "background",
];

impl Theme {
    /// The compiled-in default theme. It is checked by the tests, so it always parses.
    pub fn default_theme() -> Theme {
        parse_theme(BUILT_IN[0].1, None).unwrap_or_else(|_| Theme::fallback())
    }

    /// A last resort that needs no parsing at all: the terminal's own colours.
    fn fallback() -> Theme {
        let c = Color::Reset;
        Theme {
            name: "default".into(),
            description: String::new(),
            palette: Palette {
                text: c,
                muted: Color::DarkGray,
                accent: Color::Cyan,
                ok: Color::Green,
                warning: Color::Yellow,
                danger: Color::Red,
                info: Color::Blue,
                unknown: Color::Gray,
                selection_fg: Color::Black,
                selection_bg: Color::Cyan,
                border: Color::DarkGray,
                border_focused: Color::Cyan,
                header_fg: Color::White,
                header_bg: Color::DarkGray,
                tiers: [Color::Magenta, Color::Yellow, Color::Cyan, Color::Gray],
                background: Color::Reset,
            },
            no_color: false,
        }
    }

    /// The background the theme paints, if it has one of its own (never with `NO_COLOR`).
    pub fn background(&self) -> Option<Color> {
        (!self.no_color && self.palette.background != Color::Reset).then_some(self.palette.background)
    }

    fn fg(&self, color: Color) -> Style {
        if self.no_color { Style::new() } else { Style::new().fg(color) }
    }

    pub fn text(&self) -> Style {
        self.fg(self.palette.text)
    }

    pub fn muted(&self) -> Style {
        if self.no_color { Style::new().add_modifier(Modifier::DIM) } else { self.fg(self.palette.muted) }
    }

    pub fn accent(&self) -> Style {
        self.fg(self.palette.accent).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }

    pub fn warning(&self) -> Style {
        self.fg(self.palette.warning).add_modifier(Modifier::BOLD)
    }

    pub fn danger(&self) -> Style {
        self.fg(self.palette.danger).add_modifier(Modifier::BOLD)
    }

    /// A risk band: a filled cell in the heat map (the symbol and count say it too).
    pub fn band(&self, band: crate::model::plan::Band) -> Style {
        use crate::model::plan::Band;
        let colour = match band {
            Band::Low => self.palette.ok,
            Band::Medium => self.palette.info,
            Band::High => self.palette.warning,
            Band::Critical => self.palette.danger,
        };
        self.fg(colour).add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// A band's word in text: its colour, not filled.
    pub fn band_text(&self, band: crate::model::plan::Band) -> Style {
        use crate::model::plan::Band;
        match band {
            Band::Low => self.ok(),
            Band::Medium => self.info(),
            Band::High => self.warning(),
            Band::Critical => self.danger(),
        }
    }

    pub fn info(&self) -> Style {
        self.fg(self.palette.info)
    }

    pub fn unknown(&self) -> Style {
        self.fg(self.palette.unknown)
    }

    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Ok => self.ok(),
            Severity::Warning => self.warning(),
            Severity::Critical => self.danger(),
        }
    }

    pub fn rpo(&self, status: &RpoStatus) -> Style {
        self.severity(status.severity())
    }

    pub fn health(&self, state: HealthState) -> Style {
        match state {
            HealthState::Unknown => self.unknown(),
            HealthState::Healthy => self.ok(),
            HealthState::Degraded => self.warning(),
            HealthState::Down => self.danger(),
        }
    }

    pub fn selection(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().fg(self.palette.selection_fg).bg(self.palette.selection_bg)
        }
    }

    /// A pane's border: the focused pane stands out.
    pub fn block(&self, focused: bool) -> Style {
        match (focused, self.no_color) {
            (true, true) => Style::new().add_modifier(Modifier::BOLD),
            (false, true) => Style::new(),
            (true, false) => Style::new().fg(self.palette.border_focused).add_modifier(Modifier::BOLD),
            (false, false) => Style::new().fg(self.palette.border),
        }
    }

    /// The text cursor in an input line.
    pub fn cursor(&self) -> Style {
        self.text().add_modifier(Modifier::REVERSED)
    }

    /// A badge in the header bar (the mode): dark text on the state's colour.
    pub fn badge(&self, severity: Severity) -> Style {
        let color = match severity {
            Severity::Ok => self.palette.ok,
            Severity::Warning => self.palette.warning,
            Severity::Critical => self.palette.danger,
        };
        if self.no_color {
            self.header().add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(self.palette.selection_fg).bg(color).add_modifier(Modifier::BOLD)
        }
    }

    /// An exercise: its own look (reversed, bold, in the info colour), never taken for an alarm.
    pub fn exercise(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::new().fg(self.palette.selection_fg).bg(self.palette.info).add_modifier(Modifier::BOLD)
        }
    }

    /// The app's name in the header bar.
    pub fn header_title(&self) -> Style {
        self.header().add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().fg(self.palette.header_fg).bg(self.palette.header_bg)
        }
    }

    pub fn tier(&self, tier: Tier) -> Style {
        self.fg(self.palette.tiers[tier.index()]).add_modifier(Modifier::BOLD)
    }

    /// The theme with colours off (for `NO_COLOR`).
    pub fn without_color(mut self) -> Theme {
        self.no_color = true;
        self
    }

    /// The theme with every 24-bit colour mapped to the nearest of the 256-colour palette, for
    /// terminals (and SSH sessions) that do not speak truecolor.
    pub fn in_256_colors(mut self) -> Theme {
        let p = &mut self.palette;
        for c in [
            &mut p.text,
            &mut p.muted,
            &mut p.accent,
            &mut p.ok,
            &mut p.warning,
            &mut p.danger,
            &mut p.info,
            &mut p.unknown,
            &mut p.selection_fg,
            &mut p.selection_bg,
            &mut p.border,
            &mut p.border_focused,
            &mut p.header_fg,
            &mut p.header_bg,
            &mut p.background,
        ]
        .into_iter()
        .chain(p.tiers.iter_mut())
        {
            *c = to_256(*c);
        }
        self
    }
}

fn to_256(c: Color) -> Color {
    let Color::Rgb(r, g, b) = c else { return c };
    let level = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let (cr, cg, cb) = (level(r), level(g), level(b));
    let cube = 16 + 36 * cr + 6 * cg + cb;
    let gray = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    if r.abs_diff(g) < 10 && g.abs_diff(b) < 10 && gray > 8 && gray < 238 {
        let g_index = ((gray - 8) / 10).min(23) as u8;
        return Color::Indexed(232 + g_index);
    }
    Color::Indexed(cube)
}

/// Why a theme could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeWarning(pub String);

fn parse_theme(text: &str, base: Option<&Theme>) -> Result<Theme, String> {
    let file: ThemeFile = toml::from_str(text).map_err(|e| {
        let (line, col) =
            e.span().map(|s| crate::config::diagnostic::line_col(text, s.start)).unwrap_or((0, 0));
        format!("line {line}, column {col}: {}", e.message().trim())
    })?;
    let base_palette = base.map(|b| b.palette);
    let mut colors: BTreeMap<&str, Color> = BTreeMap::new();
    for (key, value) in &file.colors {
        let Some(&known) = COLOR_KEYS.iter().find(|k| **k == key) else {
            return Err(format!("unknown colour `{key}` (the colours are: {})", COLOR_KEYS.join(", ")));
        };
        let color = Color::from_str(value).map_err(|_| {
            format!(
                "colour `{key}` = \"{value}\" is not a colour: use a name like \"red\", \"#rrggbb\" or 0-255"
            )
        })?;
        colors.insert(known, color);
    }
    let pick = |key: &str, from_base: Option<Color>| -> Result<Color, String> {
        colors.get(key).copied().or(from_base).ok_or_else(|| format!("colour `{key}` is missing"))
    };
    let b = base_palette;
    let palette = Palette {
        text: pick("text", b.map(|p| p.text))?,
        muted: pick("muted", b.map(|p| p.muted))?,
        accent: pick("accent", b.map(|p| p.accent))?,
        ok: pick("ok", b.map(|p| p.ok))?,
        warning: pick("warning", b.map(|p| p.warning))?,
        danger: pick("danger", b.map(|p| p.danger))?,
        info: pick("info", b.map(|p| p.info))?,
        unknown: pick("unknown", b.map(|p| p.unknown))?,
        selection_fg: pick("selection_fg", b.map(|p| p.selection_fg))?,
        selection_bg: pick("selection_bg", b.map(|p| p.selection_bg))?,
        border: pick("border", b.map(|p| p.border))?,
        border_focused: pick("border_focused", b.map(|p| p.border_focused))?,
        header_fg: pick("header_fg", b.map(|p| p.header_fg))?,
        header_bg: pick("header_bg", b.map(|p| p.header_bg))?,
        tiers: [
            pick("tier1", b.map(|p| p.tiers[0]))?,
            pick("tier2", b.map(|p| p.tiers[1]))?,
            pick("tier3", b.map(|p| p.tiers[2]))?,
            pick("tier4", b.map(|p| p.tiers[3]))?,
        ],
        background: colors.get("background").copied().or(b.map(|p| p.background)).unwrap_or(Color::Reset),
    };
    Ok(Theme {
        name: file.name.unwrap_or_default(),
        description: file.description.unwrap_or_default(),
        palette,
        no_color: false,
    })
}

/// Every theme available, by name, and what went wrong loading any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeCatalog {
    themes: Vec<Theme>,
    pub warnings: Vec<ThemeWarning>,
}

impl ThemeCatalog {
    /// The built-ins, then every `*.toml` in `dirs` (a file named like a built-in replaces it).
    pub fn load(dirs: &[PathBuf]) -> ThemeCatalog {
        let default = Theme::default_theme();
        let mut themes: Vec<Theme> = BUILT_IN
            .iter()
            .filter_map(|(name, text)| {
                parse_theme(text, Some(&default)).ok().map(|mut t| {
                    t.name = (*name).to_owned();
                    t
                })
            })
            .collect();
        let mut warnings = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for path in files {
                match load_file(&path, &default) {
                    Ok(theme) => match themes.iter_mut().find(|t| t.name == theme.name) {
                        Some(slot) => *slot = theme,
                        None => themes.push(theme),
                    },
                    Err(w) => warnings.push(w),
                }
            }
        }
        ThemeCatalog { themes, warnings }
    }

    /// Every theme mapped to the 256-colour palette (terminals without truecolor).
    /// The catalog for `config`: the built-in themes, then the configuration's folder's and the
    /// user's (file I/O: done in the loop or an effect task, never in `update`); in the
    /// 256-colour palette unless the terminal takes `truecolor`.
    pub fn for_config(config: &crate::config::Config, truecolor: bool) -> ThemeCatalog {
        let config_dir = config.path.parent().map(|p| p.to_owned()).unwrap_or_default();
        let themes =
            ThemeCatalog::load(&crate::config::console::theme_dirs(&config_dir, &crate::config::ProcessEnv));
        for warning in &themes.warnings {
            tracing::warn!("{}", warning.0);
        }
        if truecolor { themes } else { themes.in_256_colors() }
    }

    pub fn in_256_colors(self) -> ThemeCatalog {
        ThemeCatalog {
            themes: self.themes.into_iter().map(Theme::in_256_colors).collect(),
            warnings: self.warnings,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.themes.iter().map(|t| t.name.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.name == name)
    }

    /// The named theme, or the default with a warning when there is none by that name.
    pub fn pick(&self, name: &str) -> (Theme, Option<ThemeWarning>) {
        match self.get(name) {
            Some(t) => (t.clone(), None),
            None => (
                self.get("default").cloned().unwrap_or_else(Theme::default_theme),
                Some(ThemeWarning(format!(
                    "there is no theme \"{name}\"; using \"default\" (themes: {})",
                    self.names().collect::<Vec<_>>().join(", ")
                ))),
            ),
        }
    }
}

fn load_file(path: &Path, default: &Theme) -> Result<Theme, ThemeWarning> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let fallback = if BUILT_IN.iter().any(|(n, _)| *n == stem) { stem.clone() } else { "default".to_owned() };
    // The fallback first: the footer may cut the end of a long message.
    let text = std::fs::read_to_string(path).map_err(|e| {
        ThemeWarning(format!(
            "theme file {} cannot be read, using the built-in \"{fallback}\": {e}",
            path.display()
        ))
    })?;
    let mut theme = parse_theme(&text, Some(default)).map_err(|e| {
        ThemeWarning(format!(
            "theme file {} is broken, using the built-in \"{fallback}\": {e}",
            path.display()
        ))
    })?;
    if theme.name.is_empty() {
        theme.name = stem;
    }
    Ok(theme)
}

/// Whether the terminal says it draws 24-bit colour.
pub fn truecolor() -> bool {
    std::env::var("COLORTERM").is_ok_and(|v| v == "truecolor" || v == "24bit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_completely() {
        for (name, text) in BUILT_IN {
            let theme = parse_theme(text, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(theme.name, *name);
        }
    }

    #[test]
    fn a_broken_file_falls_back_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("light.toml"), "[colors]\nok = \"chartreuse-ish\"\n").unwrap();
        std::fs::write(dir.path().join("mine.toml"), "name = \"mine\"\n[colors]\nok = \"#00ff00\"\n")
            .unwrap();
        let catalog = ThemeCatalog::load(&[dir.path().to_owned()]);
        assert_eq!(catalog.warnings.len(), 1);
        let w = &catalog.warnings[0].0;
        assert!(w.contains("light.toml is broken, using the built-in \"light\""), "{w}");
        assert!(w.contains("colour `ok` = \"chartreuse-ish\" is not a colour"), "{w}");
        assert_eq!(catalog.get("light").map(|t| t.palette.ok), Some(Color::Rgb(0, 0x87, 0)));
        // A partial theme takes the rest from the default.
        let mine = catalog.get("mine").unwrap();
        assert_eq!(mine.palette.ok, Color::Rgb(0, 255, 0));
        assert_eq!(mine.palette.danger, Theme::default_theme().palette.danger);
    }

    #[test]
    fn no_color_keeps_emphasis_but_drops_colour() {
        let t = Theme::default_theme().without_color();
        assert_eq!(t.danger().fg, None);
        assert!(t.danger().add_modifier.contains(Modifier::BOLD));
        assert!(t.selection().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn truecolor_maps_to_the_256_palette() {
        assert_eq!(to_256(Color::Rgb(0, 0, 0)), Color::Indexed(16));
        assert_eq!(to_256(Color::Rgb(255, 95, 95)), Color::Indexed(203));
        assert_eq!(to_256(Color::Rgb(128, 128, 128)), Color::Indexed(244));
        assert_eq!(to_256(Color::Red), Color::Red);
    }

    /// Without truecolor, no colour of any theme is left as RGB (the light theme's background
    /// was: a terminal without truecolor drew it wrong).
    #[test]
    fn in_256_colours_no_theme_keeps_an_rgb_colour() {
        for (name, text) in BUILT_IN {
            let theme = parse_theme(text, None).unwrap_or_else(|e| panic!("{name}: {e}")).in_256_colors();
            let p = &theme.palette;
            let all = [
                p.text,
                p.muted,
                p.accent,
                p.ok,
                p.warning,
                p.danger,
                p.info,
                p.unknown,
                p.selection_fg,
                p.selection_bg,
                p.border,
                p.border_focused,
                p.header_fg,
                p.header_bg,
                p.background,
            ];
            for c in all.iter().chain(p.tiers.iter()) {
                assert!(!matches!(c, Color::Rgb(..)), "{name}: {c:?}");
            }
        }
    }
}

//! The screen's geometry, shared by the views (to draw) and `update` (to keep the selection in
//! view). Pure arithmetic on the terminal size.
//!
//! ```text
//! ┌ header (2 lines) ─────────────────────────────┐
//! │ body                                          │
//! └ footer (1 line) ──────────────────────────────┘
//! ```

use ratatui::layout::Rect;

pub const HEADER: u16 = 2;
pub const FOOTER: u16 = 1;
/// Below this the console says so instead of drawing.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// The audit screen's record detail box, borders included.
pub const AUDIT_DETAIL: u16 = 7;

pub fn too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

pub fn header(area: Rect) -> Rect {
    Rect { height: HEADER.min(area.height), ..area }
}

pub fn body(area: Rect) -> Rect {
    let height = area.height.saturating_sub(HEADER + FOOTER);
    Rect { y: area.y + HEADER, height, ..area }
}

pub fn footer(area: Rect) -> Rect {
    Rect { y: area.y + area.height.saturating_sub(FOOTER), height: FOOTER.min(area.height), ..area }
}

/// How many dashboard lines fit.
pub fn dashboard_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(HEADER + FOOTER))
}

/// How many audit records fit above the detail box (one line is the title).
pub fn audit_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(HEADER + FOOTER + 1 + AUDIT_DETAIL))
}

/// How many lines of the dependency pane fit inside its borders (below the title line and
/// the decision panel).
pub fn detail_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(HEADER + FOOTER + 1 + DECISION + 2))
}

/// The decision panel's height, borders included.
pub const DECISION: u16 = 10;

/// Where the help box goes for `lines` lines of help.
pub fn help_box(area: Rect, lines: usize, wanted: u16) -> Rect {
    let width = wanted.max(78).min(area.width.saturating_sub(4));
    let height = (lines as u16).saturating_add(2).min(area.height.saturating_sub(2));
    centered(area, width, height)
}

/// Where the problems box goes for `lines` lines of text.
pub fn problems_box(area: Rect, lines: usize) -> Rect {
    let width = area.width.saturating_sub(4);
    let height = (lines as u16).saturating_add(2).min(area.height.saturating_sub(4)).max(3);
    centered(area, width, height)
}

/// The text width inside a bordered box with one column of padding on each side.
pub fn inner_width(rect: Rect) -> usize {
    usize::from(rect.width.saturating_sub(4))
}

/// How far a box of `rect` showing `lines` lines can scroll.
pub fn max_scroll(rect: Rect, lines: usize) -> usize {
    lines.saturating_sub(usize::from(rect.height.saturating_sub(2)))
}

/// Break `text` into lines of at most `width` characters; a broken line's continuation keeps
/// the line's indentation (plus two), so indented text stays readable.
pub fn wrap_indented(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    for line in text.lines() {
        let indent = line.chars().take_while(|c| *c == ' ').count();
        let mut current = String::new();
        let mut len = 0;
        for word in line.split_inclusive(' ') {
            let wlen = word.chars().count();
            if len + word.trim_end().chars().count() > width && len > indent {
                out.push(current.trim_end().to_owned());
                let pad = (indent + 2).min(width / 2);
                current = " ".repeat(pad);
                len = pad;
            }
            current.push_str(word);
            len += wlen;
        }
        out.push(current.trim_end().to_owned());
    }
    out
}

/// The first line to show so that `line` is visible, keeping `scroll` when it already is.
pub fn scroll_to(line: usize, scroll: usize, rows: usize) -> usize {
    if rows == 0 {
        return line;
    }
    if line < scroll {
        line
    } else if line >= scroll + rows {
        line + 1 - rows
    } else {
        scroll
    }
}

/// A rectangle of `width` x `height` centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_indentation() {
        let lines = wrap_indented("  = help: a system may be stricter than its tier", 24);
        assert_eq!(lines, vec!["  = help: a system may", "    be stricter than its", "    tier"]);
    }

    #[test]
    fn scrolling_keeps_the_line_in_view_and_moves_as_little_as_possible() {
        assert_eq!(scroll_to(5, 0, 10), 0);
        assert_eq!(scroll_to(12, 0, 10), 3);
        assert_eq!(scroll_to(2, 3, 10), 2);
        assert_eq!(scroll_to(7, 3, 10), 3);
    }
}

//! Splitting a reading over sessions: its chapters are grouped, in order, into one segment per
//! session so that the largest segment's page count is as small as possible. A chapter is
//! split by pages only when it is more than 1.5 times the target (the pages per session if
//! they divided evenly). When sessions change, only the segments of sessions still to come
//! are planned again, from the page after the last one already read.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A chapter as entered: its number, title, and first and last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    pub number: i32,
    #[serde(default)]
    pub title: String,
    pub first_page: i32,
    pub last_page: i32,
}

impl Chapter {
    pub fn pages(&self) -> i32 {
        self.last_page - self.first_page + 1
    }
}

/// Most chapters a reading may have.
pub const MAX_CHAPTERS: usize = 500;

/// Check chapters: 1–500 of them, pages in order, each chapter starting after the last.
pub fn check_chapters(chapters: Vec<Chapter>) -> Result<Vec<Chapter>, Invalid> {
    if chapters.is_empty() || chapters.len() > MAX_CHAPTERS {
        return Err(Invalid::new(
            "chapters",
            format!("must list between 1 and {MAX_CHAPTERS} chapters"),
        ));
    }
    let mut last = 0;
    for c in &chapters {
        super::text::line("title", &c.title)?;
        if c.title.chars().count() > 200 {
            return Err(Invalid::new(
                "title",
                format!("chapter {}: a title is at most 200 characters", c.number),
            ));
        }
        if c.first_page < 1 || c.last_page < c.first_page || c.last_page > 100_000 {
            return Err(Invalid::new(
                "last_page",
                format!(
                    "chapter {}: pages must run forwards from page 1 (first_page ≤ last_page)",
                    c.number
                ),
            ));
        }
        if c.first_page <= last {
            return Err(Invalid::new(
                "first_page",
                format!(
                    "chapter {} starts on page {}, before the previous chapter ends (page {last})",
                    c.number, c.first_page
                ),
            ));
        }
        last = c.last_page;
    }
    Ok(chapters)
}

/// Read a pasted table of contents: one chapter per line, "number title first-last" or
/// "title ... first" (the last page then runs to the next chapter's start; the final one needs
/// `last_page`).
pub fn parse_contents(text: &str, last_page: i32) -> Result<Vec<Chapter>, Invalid> {
    let text = super::text::lines("contents", text)?;
    let mut rows: Vec<(String, i32, Option<i32>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (head, pages) = line
            .rsplit_once(|c: char| c.is_whitespace() || c == '.')
            .ok_or_else(|| {
                Invalid::new("contents", format!("“{line}” ends with no page number"))
            })?;
        let range = pages.trim();
        let (first, last) = match range.split_once(['-', '–']) {
            Some((a, b)) => (a.trim().parse().ok(), b.trim().parse().ok()),
            None => (range.parse().ok(), None),
        };
        let Some(first) = first else {
            return Err(Invalid::new(
                "contents",
                format!("“{line}” ends with no page number"),
            ));
        };
        let title = head.trim_end_matches(['.', ' ', '\t']).trim().to_string();
        rows.push((title, first, last));
    }
    let n = rows.len();
    let chapters = rows
        .iter()
        .enumerate()
        .map(|(i, (title, first, last))| {
            let last = last.unwrap_or_else(|| {
                if i + 1 < n {
                    rows[i + 1].1 - 1
                } else {
                    last_page
                }
            });
            Chapter {
                number: i as i32 + 1,
                title: title.clone(),
                first_page: *first,
                last_page: last,
            }
        })
        .collect();
    check_chapters(chapters)
}

/// Chapters written back as the table of contents the form takes, one "title first–last" per
/// line, so the form can show what a reading has and `parse_contents` reads it back the same.
pub fn contents_text(chapters: &[Chapter]) -> String {
    chapters
        .iter()
        .map(|c| format!("{} {}–{}", c.title, c.first_page, c.last_page))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A run of pages one session reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub first_page: i32,
    pub last_page: i32,
}

impl Segment {
    pub fn pages(&self) -> i32 {
        self.last_page - self.first_page + 1
    }
}

/// The pieces the partition works on: whole chapters, or a long chapter cut by pages.
fn units(chapters: &[Chapter], sessions: usize) -> Vec<Segment> {
    let total: i64 = chapters.iter().map(|c| i64::from(c.pages())).sum();
    let target = (total as f64 / sessions.max(1) as f64).max(1.0);
    let mut out = Vec::new();
    for c in chapters {
        let pages = f64::from(c.pages());
        if pages > 1.5 * target {
            let parts = (pages / target).ceil() as i32;
            let size = c.pages() / parts;
            let extra = c.pages() % parts;
            let mut first = c.first_page;
            for i in 0..parts {
                let len = size + i32::from(i < extra);
                out.push(Segment {
                    first_page: first,
                    last_page: first + len - 1,
                });
                first += len;
            }
        } else {
            out.push(Segment {
                first_page: c.first_page,
                last_page: c.last_page,
            });
        }
    }
    out
}

/// Group `units` into `groups` contiguous, non-empty runs minimising the largest run's
/// pages; returns where each run starts. Needs `units.len() >= groups >= 1`.
fn partition(pages: &[i64], groups: usize) -> Vec<usize> {
    let m = pages.len();
    let prefix: Vec<i64> = std::iter::once(0)
        .chain(pages.iter().scan(0, |s, p| {
            *s += p;
            Some(*s)
        }))
        .collect();
    let sum = |a: usize, b: usize| prefix[b] - prefix[a];
    // best[g][i]: the smallest largest run covering the first i units with g runs.
    let inf = i64::MAX;
    let mut best = vec![vec![inf; m + 1]; groups + 1];
    let mut cut = vec![vec![0usize; m + 1]; groups + 1];
    best[0][0] = 0;
    for g in 1..=groups {
        for i in g..=m {
            for j in (g - 1)..i {
                if best[g - 1][j] == inf {
                    continue;
                }
                let v = best[g - 1][j].max(sum(j, i));
                // Ties go to the later cut, so earlier sessions read no more than later ones.
                if v <= best[g][i] {
                    best[g][i] = v;
                    cut[g][i] = j;
                }
            }
        }
    }
    let mut starts = vec![0; groups];
    let mut i = m;
    for g in (1..=groups).rev() {
        let j = cut[g][i];
        starts[g - 1] = j;
        i = j;
    }
    starts
}

/// Split `chapters` over `sessions` sessions: one segment each (`None` for a session left
/// with nothing to read when there are fewer pieces than sessions).
pub fn split(chapters: &[Chapter], sessions: usize) -> Vec<Option<Segment>> {
    if sessions == 0 || chapters.is_empty() {
        return vec![None; sessions];
    }
    let units = units(chapters, sessions);
    if units.len() <= sessions {
        let mut out: Vec<Option<Segment>> = units.into_iter().map(Some).collect();
        out.resize(sessions, None);
        return out;
    }
    let pages: Vec<i64> = units.iter().map(|u| i64::from(u.pages())).collect();
    let starts = partition(&pages, sessions);
    (0..sessions)
        .map(|g| {
            let from = starts[g];
            let to = starts.get(g + 1).copied().unwrap_or(units.len());
            Some(Segment {
                first_page: units[from].first_page,
                last_page: units[to - 1].last_page,
            })
        })
        .collect()
}

/// The chapters still to read after page `read_through`, the first one cut to start there.
pub fn remaining(chapters: &[Chapter], read_through: i32) -> Vec<Chapter> {
    chapters
        .iter()
        .filter(|c| c.last_page > read_through)
        .map(|c| Chapter {
            first_page: c.first_page.max(read_through + 1),
            ..c.clone()
        })
        .collect()
}

/// "Read chapters 5–6 (pp. 112–160, 48 pages)", or part of one chapter.
pub fn label(chapters: &[Chapter], segment: Segment) -> String {
    let inside: Vec<&Chapter> = chapters
        .iter()
        .filter(|c| c.last_page >= segment.first_page && c.first_page <= segment.last_page)
        .collect();
    let pages = segment.pages();
    let range = format!(
        "pp. {}–{}, {pages} page{}",
        segment.first_page,
        segment.last_page,
        if pages == 1 { "" } else { "s" }
    );
    match (inside.first(), inside.last()) {
        (Some(a), Some(b)) if a.number == b.number => {
            let whole = a.first_page >= segment.first_page && a.last_page <= segment.last_page;
            if whole {
                format!("Read chapter {} ({range})", a.number)
            } else {
                format!("Read part of chapter {} ({range})", a.number)
            }
        }
        (Some(a), Some(b)) => format!("Read chapters {}–{} ({range})", a.number, b.number),
        _ => format!("Read {range}"),
    }
}

/// Segments over 1.5 times the median: (index, pages).
pub fn uneven(segments: &[Option<Segment>]) -> Vec<usize> {
    let mut sizes: Vec<i32> = segments.iter().flatten().map(|s| s.pages()).collect();
    if sizes.len() < 2 {
        return Vec::new();
    }
    sizes.sort_unstable();
    let median = if sizes.len() % 2 == 1 {
        f64::from(sizes[sizes.len() / 2])
    } else {
        f64::from(sizes[sizes.len() / 2 - 1] + sizes[sizes.len() / 2]) / 2.0
    };
    segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some_and(|s| f64::from(s.pages()) > 1.5 * median))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_of_contents_is_shown_as_it_is_read() {
        let chapters = parse_contents(
            "1 Skywoman Falling 3\n2 The Council of Pecans 11\n3 The Gift 20",
            47,
        )
        .unwrap();
        let text = contents_text(&chapters);
        assert_eq!(
            text,
            "1 Skywoman Falling 3–10\n2 The Council of Pecans 11–19\n3 The Gift 20–47"
        );
        assert_eq!(parse_contents(&text, 47).unwrap(), chapters);
    }
    use proptest::prelude::*;

    fn book(pages: &[i32]) -> Vec<Chapter> {
        let mut first = 1;
        pages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let c = Chapter {
                    number: i as i32 + 1,
                    title: format!("Chapter {}", i + 1),
                    first_page: first,
                    last_page: first + p - 1,
                };
                first += p;
                c
            })
            .collect()
    }

    /// The smallest largest run over every contiguous partition into exactly `groups`
    /// non-empty runs, by trying them all.
    fn brute(pages: &[i64], groups: usize) -> i64 {
        fn go(pages: &[i64], groups: usize) -> i64 {
            if groups == 1 {
                return pages.iter().sum();
            }
            (1..=pages.len() - (groups - 1))
                .map(|k| {
                    let head: i64 = pages[..k].iter().sum();
                    head.max(go(&pages[k..], groups - 1))
                })
                .min()
                .unwrap()
        }
        go(pages, groups)
    }

    #[test]
    fn a_book_splits_by_chapters_and_labels_read_plainly() {
        let chapters = book(&[20, 30, 25, 25, 40, 10]);
        let plan = split(&chapters, 3);
        let sizes: Vec<i32> = plan.iter().map(|s| s.unwrap().pages()).collect();
        assert_eq!(sizes.iter().sum::<i32>(), 150);
        assert_eq!(*sizes.iter().max().unwrap(), 50);
        assert_eq!(
            label(&chapters, plan[0].unwrap()),
            "Read chapters 1–2 (pp. 1–50, 50 pages)"
        );
        // A chapter of 200 pages among short ones is cut by pages.
        let long = book(&[10, 200, 10]);
        let plan = split(&long, 4);
        assert!(plan.iter().flatten().all(|s| s.pages() <= 80), "{plan:?}");
        assert!(label(&long, plan[1].unwrap()).starts_with("Read part of chapter 2"));
        // More sessions than pieces: the last sessions read nothing.
        assert_eq!(split(&book(&[5, 5]), 3)[2], None);
    }

    #[test]
    fn contents_are_read_from_a_pasted_table() {
        let toc = "1 Skywoman Falling .... 3\n2 The Council of Pecans 11\nEpilogue 30-40";
        let c = parse_contents(toc, 40).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].first_page, c[0].last_page), (3, 10));
        assert_eq!(c[1].title, "2 The Council of Pecans");
        assert_eq!((c[2].first_page, c[2].last_page), (30, 40));
        assert!(parse_contents("No pages here", 10).is_err());
        assert!(check_chapters(book(&[5, 5]).into_iter().rev().collect()).is_err());
    }

    #[test]
    fn segments_far_over_the_median_are_flagged() {
        let s = |a, b| {
            Some(Segment {
                first_page: a,
                last_page: b,
            })
        };
        assert_eq!(uneven(&[s(1, 10), s(11, 20), s(21, 60)]), vec![2]);
        assert!(uneven(&[s(1, 10), s(11, 21)]).is_empty());
    }

    proptest! {
        /// Every page is read exactly once and in order, chapters are never reordered, and
        /// the largest segment is as small as any contiguous partition of the pieces allows.
        #[test]
        fn splits_are_complete_ordered_and_minimal(
            pages in proptest::collection::vec(1i32..60, 1..9),
            sessions in 1usize..5,
        ) {
            let chapters = book(&pages);
            let plan = split(&chapters, sessions);
            prop_assert_eq!(plan.len(), sessions);
            let mut next = 1;
            for s in plan.iter().flatten() {
                prop_assert_eq!(s.first_page, next);
                prop_assert!(s.last_page >= s.first_page);
                next = s.last_page + 1;
            }
            prop_assert_eq!(next - 1, chapters.last().unwrap().last_page);
            // Empty sessions only at the end.
            let first_empty = plan.iter().position(Option::is_none).unwrap_or(sessions);
            prop_assert!(plan[first_empty..].iter().all(Option::is_none));
            let units = units(&chapters, sessions);
            if units.len() > sessions {
                let sizes: Vec<i64> = units.iter().map(|u| i64::from(u.pages())).collect();
                let largest = plan.iter().flatten().map(|s| i64::from(s.pages())).max().unwrap();
                prop_assert_eq!(largest, brute(&sizes, sessions));
            }
            // A chapter is cut only when it is over 1.5× the target.
            let target = f64::from(pages.iter().sum::<i32>()) / sessions as f64;
            for c in &chapters {
                let cut = plan.iter().flatten().any(|s| s.first_page > c.first_page && s.first_page <= c.last_page);
                if cut {
                    prop_assert!(f64::from(c.pages()) > 1.5 * target);
                }
            }
        }

        /// Planning the rest after what was read starts on the next page.
        #[test]
        fn the_rest_starts_after_what_was_read(
            pages in proptest::collection::vec(1i32..40, 1..8),
            read in 0i32..100,
        ) {
            let chapters = book(&pages);
            let total = chapters.last().unwrap().last_page;
            let read = read.min(total);
            let rest = remaining(&chapters, read);
            let pages_left: i32 = rest.iter().map(Chapter::pages).sum();
            prop_assert_eq!(pages_left, total - read);
            if let Some(first) = rest.first() {
                prop_assert_eq!(first.first_page, read + 1);
            }
        }
    }
}

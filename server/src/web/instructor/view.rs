//! How the overview's table is sorted and filtered, read from and written back into the query
//! string (`?sort=name|step|activity|errors&order=asc|desc&status=all|traffic|idle|slo_broken|done`),
//! so that every view is a plain link that works without JavaScript.

use std::cmp::Ordering;

use super::InstructorError;
use super::row::ParticipantRow;

/// The column the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Display name, case-insensitively.
    Name,
    /// Steps done, then the step they are on.
    Step,
    /// Last activity.
    Activity,
    /// Error ratio.
    Errors,
}

impl SortKey {
    const ALL: [Self; 4] = [Self::Name, Self::Step, Self::Activity, Self::Errors];

    /// The key as it appears in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Step => "step",
            Self::Activity => "activity",
            Self::Errors => "errors",
        }
    }
}

/// Which way the table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

impl SortOrder {
    /// The order as it appears in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ascending => "asc",
            Self::Descending => "desc",
        }
    }
}

/// Which participants the table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Everyone.
    All,
    /// Those whose publisher or subscriber is running.
    Traffic,
    /// Those with no traffic running.
    Idle,
    /// Those whose stated SLO does not hold.
    SloBroken,
    /// Those who have done every step.
    Done,
}

impl StatusFilter {
    const ALL: [Self; 5] = [
        Self::All,
        Self::Traffic,
        Self::Idle,
        Self::SloBroken,
        Self::Done,
    ];

    /// The filter as it appears in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Traffic => "traffic",
            Self::Idle => "idle",
            Self::SloBroken => "slo_broken",
            Self::Done => "done",
        }
    }

    /// The filter in words, for its menu.
    pub fn label(self) -> &'static str {
        match self {
            Self::All => "Everyone",
            Self::Traffic => "Traffic running",
            Self::Idle => "No traffic running",
            Self::SloBroken => "SLO not met",
            Self::Done => "Every step done",
        }
    }

    fn admits(self, row: &ParticipantRow) -> bool {
        match self {
            Self::All => true,
            Self::Traffic => row.running,
            Self::Idle => !row.running,
            Self::SloBroken => row.slo_broken(),
            Self::Done => row.steps_done == row.steps_total,
        }
    }
}

/// How the table is sorted and filtered: `?sort=name|step|activity|errors&order=asc|desc&status=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The column sorted by.
    pub sort: SortKey,
    /// Which way.
    pub order: SortOrder,
    /// Who is shown.
    pub status: StatusFilter,
}

impl Default for View {
    fn default() -> Self {
        Self {
            sort: SortKey::Name,
            order: SortOrder::Ascending,
            status: StatusFilter::All,
        }
    }
}

/// Reads one choice from the query string; absent or empty takes the default.
fn choose<T: Copy>(
    field: &str,
    value: Option<&str>,
    options: &[T],
    name: impl Fn(T) -> &'static str,
    default: T,
) -> Result<T, InstructorError> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some(value) => options
            .iter()
            .copied()
            .find(|option| name(*option) == value)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|option| name(*option)).collect();
                InstructorError::invalid(format!(
                    "Unknown {field} {value:?}: choose one of {}.",
                    names.join(", ")
                ))
            }),
    }
}

impl View {
    /// The view from the query string's `sort`, `order` and `status`.
    pub fn parse(
        sort: Option<&str>,
        order: Option<&str>,
        status: Option<&str>,
    ) -> Result<Self, InstructorError> {
        let default = Self::default();
        Ok(Self {
            sort: choose("sort", sort, &SortKey::ALL, SortKey::as_str, default.sort)?,
            order: choose(
                "order",
                order,
                &[SortOrder::Ascending, SortOrder::Descending],
                SortOrder::as_str,
                default.order,
            )?,
            status: choose(
                "status",
                status,
                &StatusFilter::ALL,
                StatusFilter::as_str,
                default.status,
            )?,
        })
    }

    /// The view as a query string (its values are fixed words: nothing to escape).
    pub fn query(&self) -> String {
        format!(
            "sort={}&order={}&status={}",
            self.sort.as_str(),
            self.order.as_str(),
            self.status.as_str()
        )
    }

    /// The query string a column header links to: that column ascending, or the other way round
    /// when it is the column already sorted by.
    pub fn sort_query(&self, key: &str) -> String {
        let order = if self.sort.as_str() == key && self.order == SortOrder::Ascending {
            SortOrder::Descending
        } else {
            SortOrder::Ascending
        };
        format!(
            "sort={key}&order={}&status={}",
            order.as_str(),
            self.status.as_str()
        )
    }

    /// The header's `aria-sort`.
    pub fn aria_sort(&self, key: &str) -> &'static str {
        match (self.sort.as_str() == key, self.order) {
            (false, _) => "none",
            (true, SortOrder::Ascending) => "ascending",
            (true, SortOrder::Descending) => "descending",
        }
    }

    /// The arrow shown after a sorted header.
    pub fn arrow(&self, key: &str) -> &'static str {
        match (self.sort.as_str() == key, self.order) {
            (false, _) => "",
            (true, SortOrder::Ascending) => " ▲",
            (true, SortOrder::Descending) => " ▼",
        }
    }

    /// The filter menu: (value, label, selected).
    pub fn filters(&self) -> Vec<(&'static str, &'static str, bool)> {
        StatusFilter::ALL
            .iter()
            .map(|filter| (filter.as_str(), filter.label(), *filter == self.status))
            .collect()
    }

    /// Keeps the rows the filter admits, in the view's order.
    pub fn apply(&self, mut rows: Vec<ParticipantRow>) -> Vec<ParticipantRow> {
        rows.retain(|row| self.status.admits(row));
        rows.sort_by(|a, b| {
            let by_key = match self.sort {
                SortKey::Name => Ordering::Equal,
                SortKey::Step => (a.steps_done, a.current_step_number)
                    .cmp(&(b.steps_done, b.current_step_number)),
                SortKey::Activity => a.last_seen_ms.cmp(&b.last_seen_ms),
                // No ratio yet sorts below 0%.
                SortKey::Errors => a
                    .error_ratio
                    .unwrap_or(-1.0)
                    .total_cmp(&b.error_ratio.unwrap_or(-1.0)),
            };
            by_key
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then_with(|| a.id.cmp(&b.id))
        });
        if self.order == SortOrder::Descending {
            rows.reverse();
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_its_query_and_refuses_unknown_words() {
        let view =
            View::parse(Some("errors"), Some("desc"), Some("slo_broken")).unwrap_or_default();
        assert_eq!(view.query(), "sort=errors&order=desc&status=slo_broken");
        assert_eq!(
            View::parse(None, Some(""), None).ok(),
            Some(View::default())
        );
        assert!(View::parse(Some("age"), None, None).is_err());
        assert!(View::parse(None, Some("up"), None).is_err());
        assert!(View::parse(None, None, Some("busy")).is_err());
    }

    #[test]
    fn a_header_link_flips_the_order_of_the_sorted_column_only() {
        let view = View::default();
        assert_eq!(view.sort_query("name"), "sort=name&order=desc&status=all");
        assert_eq!(view.sort_query("step"), "sort=step&order=asc&status=all");
        assert_eq!(view.aria_sort("name"), "ascending");
        assert_eq!(view.aria_sort("step"), "none");
    }
}

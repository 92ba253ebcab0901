//! One stack's metric datapoints, kept the way CloudWatch keeps standard-resolution metrics: one
//! statistic set per metric per one-minute bucket.
//!
//! A [`StatisticSet`] holds the sum, count, minimum, maximum and a histogram of the values, so that
//! every statistic GetMetricData offers (percentiles included) can be computed for any period
//! made of whole minutes, and sets persisted on disk can be merged back in.

use std::{borrow::Cow, collections::BTreeMap};

use serde::{Deserialize, Serialize};

use super::{EpochMillis, Metric};

/// One minute, the resolution of standard CloudWatch metrics, in milliseconds.
pub const MINUTE_MILLIS: EpochMillis = 60_000;

/// Histogram keys are values in thousandths, rounded: `value × 1000`.
const HISTOGRAM_SCALE: f64 = 1000.0;

/// Floors `at` to the start of its minute.
pub const fn minute_of(at: EpochMillis) -> EpochMillis {
    // Saturating, so that even a nonsensical timestamp from a request cannot overflow.
    at.saturating_sub(at.rem_euclid(MINUTE_MILLIS))
}

/// The aggregate of the values one metric received in one bucket: CloudWatch's statistic set,
/// plus a histogram for percentiles.
///
/// The histogram counts values quantised to thousandths (`round(value × 1000)` → count): exact to
/// 0.001 for the values the pipeline records (counts, milliseconds, seconds), and a counter that
/// always records `1.0` costs a single entry however many times it is recorded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatisticSet {
    /// Sum of the values.
    pub sum: f64,
    /// Number of values.
    pub sample_count: u64,
    /// Smallest value (0 while the set is empty).
    pub minimum: f64,
    /// Largest value (0 while the set is empty).
    pub maximum: f64,
    /// Number of values per value in thousandths (`round(value × 1000)`). Written packed
    /// ([`packed_histogram`]); a map from key to count is read too.
    #[serde(default, with = "packed_histogram")]
    pub histogram: BTreeMap<i64, u64>,
}

impl StatisticSet {
    /// A set holding the one value `value`.
    pub fn of(value: f64) -> Self {
        let mut set = Self::default();
        set.add(value);
        set
    }

    /// Whether no value was added.
    pub fn is_empty(&self) -> bool {
        self.sample_count == 0
    }

    /// Adds one value.
    pub fn add(&mut self, value: f64) {
        if self.is_empty() {
            self.minimum = value;
            self.maximum = value;
        } else {
            self.minimum = self.minimum.min(value);
            self.maximum = self.maximum.max(value);
        }
        self.sum += value;
        self.sample_count += 1;
        // `as` saturates, so an absurdly large value lands in the outermost bucket.
        *self
            .histogram
            .entry((value * HISTOGRAM_SCALE).round() as i64)
            .or_insert(0) += 1;
    }

    /// Adds every value of `other`, as if they had been added here.
    pub fn merge(&mut self, other: &Self) {
        self.merge_summary(other);
        for (&key, &count) in &other.histogram {
            *self.histogram.entry(key).or_insert(0) += count;
        }
    }

    /// Merges sum, count, minimum and maximum but not the histogram: enough for every statistic
    /// but percentiles, and much cheaper.
    pub(crate) fn merge_summary(&mut self, other: &Self) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            self.minimum = other.minimum;
            self.maximum = other.maximum;
        } else {
            self.minimum = self.minimum.min(other.minimum);
            self.maximum = self.maximum.max(other.maximum);
        }
        self.sum += other.sum;
        self.sample_count += other.sample_count;
    }

    /// Mean of the values (`Sum / SampleCount`), or `None` for an empty set.
    pub fn average(&self) -> Option<f64> {
        (!self.is_empty()).then(|| self.sum / self.sample_count as f64)
    }

    /// The `p`th percentile (`p` from 0 to 100) by nearest rank: the smallest recorded value that
    /// at least `p`% of the values are less than or equal to. `p0` is the minimum and `p100` the
    /// maximum.
    ///
    /// `None` for an empty set, a `p` outside 0–100, or when any value is negative: CloudWatch
    /// offers no percentile for metrics with negative values. A set merged in without a histogram
    /// (CloudWatch's plain statistic set) has a percentile only when all its values are equal, as
    /// in CloudWatch.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.is_empty() || !(0.0..=100.0).contains(&p) || self.minimum < 0.0 {
            return None;
        }
        let total: u64 = self.histogram.values().sum();
        if total == 0 {
            return (self.minimum == self.maximum).then_some(self.minimum);
        }
        // Nearest rank: the value at position ceil(p/100 × n), counting from 1.
        let rank = ((p / 100.0) * total as f64).ceil().clamp(1.0, total as f64) as u64;
        let mut seen = 0;
        let key = self.histogram.iter().find_map(|(&key, &count)| {
            seen += count;
            (seen >= rank).then_some(key)
        })?;
        // Quantising may round past the exact extremes; never report beyond them.
        Some((key as f64 / HISTOGRAM_SCALE).clamp(self.minimum, self.maximum))
    }
}

/// A histogram written as one short string: the keys in order, each as its difference from the
/// one before (the first as itself), followed by `xN` when N values share it, separated by
/// commas. `1234,6x3,60` is one value at 1.234, three at 1.240 and one at 1.300: about a third of
/// the space of a JSON map, for the Lambda durations that fill the saved sets.
mod packed_histogram {
    use std::collections::BTreeMap;
    use std::fmt::{self, Write as _};

    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        histogram: &BTreeMap<i64, u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut packed = String::new();
        let mut previous = 0i64;
        for (index, (&key, &count)) in histogram.iter().enumerate() {
            if index > 0 {
                packed.push(',');
            }
            // Writing to a String cannot fail.
            let _ = write!(packed, "{}", key.wrapping_sub(previous));
            if count != 1 {
                let _ = write!(packed, "x{count}");
            }
            previous = key;
        }
        serializer.serialize_str(&packed)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<i64, u64>, D::Error> {
        deserializer.deserialize_any(HistogramVisitor)
    }

    struct HistogramVisitor;

    impl<'de> Visitor<'de> for HistogramVisitor {
        type Value = BTreeMap<i64, u64>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a packed histogram string or a map from value key to count")
        }

        fn visit_str<E: de::Error>(self, packed: &str) -> Result<Self::Value, E> {
            let mut histogram = BTreeMap::new();
            let mut key = 0i64;
            for entry in packed.split(',').filter(|entry| !entry.is_empty()) {
                let (delta, count) = match entry.split_once('x') {
                    Some((delta, count)) => (delta, count.parse::<u64>().map_err(E::custom)?),
                    None => (entry, 1),
                };
                key = key.wrapping_add(delta.parse::<i64>().map_err(E::custom)?);
                *histogram.entry(key).or_insert(0) += count;
            }
            Ok(histogram)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut histogram = BTreeMap::new();
            while let Some((key, count)) = map.next_entry::<String, u64>()? {
                let key = key.parse::<i64>().map_err(de::Error::custom)?;
                histogram.insert(key, count);
            }
            Ok(histogram)
        }
    }
}

/// Every metric of one stack, by minute.
///
/// Dimensions are compared as a set: `[A, B]` and `[B, A]` are the same metric. Each distinct set
/// of dimensions is its own metric, as in CloudWatch.
#[derive(Debug, Default, Clone)]
pub struct MetricStore {
    /// Keys have their dimensions sorted, so lookups are exact.
    series: BTreeMap<Metric, BTreeMap<EpochMillis, StatisticSet>>,
}

impl MetricStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Floors `at` to the start of its minute (the same as [`minute_of`]).
    pub const fn minute_of(at: EpochMillis) -> EpochMillis {
        minute_of(at)
    }

    /// Records one datapoint of `metric` with value `value` at `at`, in the bucket of `at`'s
    /// minute.
    ///
    /// The hot path: a metric already known (with its dimensions in name order, as a single
    /// dimension always is) is looked up by reference and not cloned. A value that is not finite
    /// is ignored, as CloudWatch rejects NaN and infinities.
    pub fn record(&mut self, metric: &Metric, at: EpochMillis, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.update_bucket(metric, minute_of(at), |set| set.add(value));
    }

    /// Merges a whole statistic set into `metric`'s bucket for `minute` (floored to the minute):
    /// how sets persisted on disk are loaded back. An empty set changes nothing.
    pub fn merge_set(&mut self, metric: &Metric, minute: EpochMillis, set: &StatisticSet) {
        if set.is_empty() {
            return;
        }
        self.update_bucket(metric, minute_of(minute), |bucket| bucket.merge(set));
    }

    /// The buckets of `metric` whose minute is in `[start, end)`, oldest first. Empty for a metric
    /// never recorded.
    pub fn sets<'s>(
        &'s self,
        metric: &Metric,
        start: EpochMillis,
        end: EpochMillis,
    ) -> impl Iterator<Item = (EpochMillis, &'s StatisticSet)> + use<'s> {
        let buckets = if start < end {
            self.series.get(canonical(metric).as_ref())
        } else {
            None
        };
        buckets
            .into_iter()
            .flat_map(move |buckets| buckets.range(start..end))
            .map(|(&minute, set)| (minute, set))
    }

    /// Every metric with at least one bucket, in order (namespace, name, dimensions).
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.series.keys()
    }

    /// Drops every bucket of a minute that starts before `at`'s minute, and the metrics left with
    /// no bucket: retention.
    pub fn prune_before(&mut self, at: EpochMillis) {
        let cutoff = minute_of(at);
        self.series.retain(|_, buckets| {
            *buckets = buckets.split_off(&cutoff);
            !buckets.is_empty()
        });
    }

    /// Whether the store holds no datapoint.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Runs `update` on the bucket of `metric` for `minute`, created if needed. Clones the metric
    /// only the first time it is seen.
    fn update_bucket(
        &mut self,
        metric: &Metric,
        minute: EpochMillis,
        update: impl FnOnce(&mut StatisticSet),
    ) {
        let key = canonical(metric);
        if let Some(buckets) = self.series.get_mut(key.as_ref()) {
            update(buckets.entry(minute).or_default());
        } else {
            let buckets = self.series.entry(key.into_owned()).or_default();
            update(buckets.entry(minute).or_default());
        }
    }
}

/// `metric` with its dimensions sorted and deduplicated, borrowed when they already are: the form
/// the store keys metrics by.
pub fn canonical(metric: &Metric) -> Cow<'_, Metric> {
    if metric.dimensions.is_sorted_by(|a, b| a < b) {
        return Cow::Borrowed(metric);
    }
    let mut owned = metric.clone();
    owned.dimensions.sort();
    owned.dimensions.dedup();
    Cow::Owned(owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::metrics::Dimension;

    fn metric(dimensions: &[(&str, &str)]) -> Metric {
        Metric {
            namespace: "AWS/Lambda".into(),
            metric_name: "Duration".into(),
            dimensions: dimensions
                .iter()
                .map(|(name, value)| Dimension {
                    name: (*name).into(),
                    value: (*value).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn minute_of_floors_including_before_the_epoch() {
        assert_eq!(minute_of(125_000), 120_000);
        assert_eq!(minute_of(120_000), 120_000);
        assert_eq!(minute_of(-1), -60_000);
    }

    #[test]
    fn counters_cost_one_histogram_entry() {
        let mut set = StatisticSet::default();
        for _ in 0..1000 {
            set.add(1.0);
        }
        assert_eq!(set.histogram.len(), 1);
        assert_eq!(set.sample_count, 1000);
        assert_eq!(set.sum, 1000.0);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let mut set = StatisticSet::default();
        for value in 1..=100 {
            set.add(f64::from(value));
        }
        assert_eq!(set.percentile(50.0), Some(50.0));
        assert_eq!(set.percentile(99.0), Some(99.0));
        assert_eq!(set.percentile(99.5), Some(100.0));
        assert_eq!(set.percentile(0.0), Some(1.0));
        assert_eq!(set.percentile(100.0), Some(100.0));
        assert_eq!(set.percentile(100.5), None);
        assert_eq!(StatisticSet::default().percentile(50.0), None);
    }

    #[test]
    fn percentile_keeps_thousandths() {
        let mut set = StatisticSet::default();
        set.add(12.345);
        set.add(0.001);
        assert_eq!(set.percentile(100.0), Some(12.345));
        assert_eq!(set.percentile(50.0), Some(0.001));
    }

    #[test]
    fn no_percentile_with_negative_values() {
        let mut set = StatisticSet::of(-1.0);
        set.add(3.0);
        assert_eq!(set.percentile(50.0), None);
    }

    #[test]
    fn merge_equals_adding_every_value() {
        let mut merged = StatisticSet::of(5.0);
        let mut other = StatisticSet::of(1.0);
        other.add(9.0);
        merged.merge(&other);
        let mut direct = StatisticSet::default();
        for value in [5.0, 1.0, 9.0] {
            direct.add(value);
        }
        assert_eq!(merged, direct);
        merged.merge(&StatisticSet::default());
        assert_eq!(merged, direct);
    }

    #[test]
    fn sets_round_trip_through_json() {
        let mut set = StatisticSet::of(2.5);
        set.add(1.0);
        let json = serde_json::to_string(&set).unwrap();
        assert!(json.contains("\"SampleCount\":2"), "{json}");
        assert_eq!(serde_json::from_str::<StatisticSet>(&json).unwrap(), set);
        let plain: StatisticSet =
            serde_json::from_str(r#"{"Sum":4,"SampleCount":2,"Minimum":2,"Maximum":2}"#).unwrap();
        assert_eq!(plain.percentile(90.0), Some(2.0));
    }

    #[test]
    fn histograms_are_written_packed_and_read_in_either_form() {
        let mut set = StatisticSet::default();
        // Values whose sum is exact in binary, so the comparison below is exact too.
        for value in [1.25, 1.5, 1.5, 1.5, 2.0, -0.5] {
            set.add(value);
        }
        let json = serde_json::to_string(&set).unwrap();
        assert!(
            json.contains(r#""Histogram":"-500,1750,250x3,500""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<StatisticSet>(&json).unwrap(), set);
        let mapped =
            r#"{"Sum":3,"SampleCount":2,"Minimum":1,"Maximum":2,"Histogram":{"1000":1,"2000":1}}"#;
        let read: StatisticSet = serde_json::from_str(mapped).unwrap();
        assert_eq!(read.histogram, BTreeMap::from([(1000, 1), (2000, 1)]));
        assert!(
            serde_json::from_str::<StatisticSet>(
                r#"{"Sum":1,"SampleCount":1,"Minimum":1,"Maximum":1,"Histogram":"1x"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn dimension_order_does_not_matter() {
        let mut store = MetricStore::new();
        let forward = metric(&[("A", "1"), ("B", "2")]);
        let backward = metric(&[("B", "2"), ("A", "1")]);
        store.record(&forward, 0, 1.0);
        store.record(&backward, 1_000, 2.0);
        assert_eq!(store.metrics().count(), 1);
        let sets: Vec<_> = store.sets(&backward, 0, 60_000).collect();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].1.sample_count, 2);
    }

    #[test]
    fn sets_cover_start_inclusive_end_exclusive() {
        let mut store = MetricStore::new();
        let duration = metric(&[("FunctionName", "f")]);
        for minute in 0..5 {
            store.record(&duration, minute * MINUTE_MILLIS + 10, 1.0);
        }
        let minutes: Vec<_> = store
            .sets(&duration, MINUTE_MILLIS, 3 * MINUTE_MILLIS)
            .map(|(minute, _)| minute)
            .collect();
        assert_eq!(minutes, vec![MINUTE_MILLIS, 2 * MINUTE_MILLIS]);
        assert_eq!(store.sets(&duration, 5, 1).count(), 0);
        assert_eq!(store.sets(&metric(&[]), 0, 5 * MINUTE_MILLIS).count(), 0);
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut store = MetricStore::new();
        store.record(&metric(&[]), 0, f64::NAN);
        store.record(&metric(&[]), 0, f64::INFINITY);
        assert!(store.is_empty());
    }

    #[test]
    fn merge_set_adds_to_recorded_values() {
        let mut store = MetricStore::new();
        let duration = metric(&[]);
        store.record(&duration, 30_000, 4.0);
        store.merge_set(&duration, 59_999, &StatisticSet::of(6.0));
        let (minute, set) = store.sets(&duration, 0, MINUTE_MILLIS).next().unwrap();
        assert_eq!(minute, 0);
        assert_eq!((set.sum, set.sample_count), (10.0, 2));
    }

    #[test]
    fn prune_before_drops_old_minutes_and_empty_metrics() {
        let mut store = MetricStore::new();
        let old = metric(&[("FunctionName", "old")]);
        let live = metric(&[("FunctionName", "live")]);
        store.record(&old, 0, 1.0);
        store.record(&live, 0, 1.0);
        store.record(&live, 2 * MINUTE_MILLIS, 1.0);
        store.prune_before(2 * MINUTE_MILLIS + 30_000);
        assert_eq!(store.metrics().collect::<Vec<_>>(), vec![&live]);
        assert_eq!(store.sets(&live, 0, i64::MAX).count(), 1);
    }
}

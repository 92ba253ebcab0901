//! Token buckets per client, with memory bounded whatever the clients send.
//!
//! A client is a [`ClientKey`]: a verified identity (a participant, the instructor) or a network
//! address, never anything a client can make up at will, such as an unverified token. The table
//! holds at most [`MAX_CLIENTS`] buckets: when it is full, buckets that have refilled are
//! forgotten (a full bucket is the same as none), and if every bucket is still in use, newcomers
//! share one overflow bucket until room is made. So a flood of new addresses costs a bounded
//! amount of memory and, at worst, slows down other newcomers, never the clients already known.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most buckets one limiter keeps.
pub const MAX_CLIENTS: usize = 10_000;

/// Who a bucket is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A participant, verified by their token.
    Participant(String),
    /// The instructor, verified by their token.
    Instructor,
    /// A client without a verified identity, by network address. IPv6 addresses count by their
    /// /64 network, since one host is usually given a whole /64 and can pick any address in it.
    Address(IpAddr),
    /// A client whose address is unknown (a request that did not come over a socket).
    Unknown,
    /// The shared bucket of newcomers while the table is full.
    Overflow,
}

impl ClientKey {
    /// The key for a client at `address`.
    pub fn address(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Address(address),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => {
                    let segments = v6.segments();
                    Self::Address(IpAddr::V6(Ipv6Addr::new(
                        segments[0],
                        segments[1],
                        segments[2],
                        segments[3],
                        0,
                        0,
                        0,
                        0,
                    )))
                }
            },
        }
    }
}

/// A token bucket per client: `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    capacity: usize,
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, now: Instant, per_second: f64, burst: f64) -> f64 {
        (self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * per_second).min(burst)
    }
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per second per client, with bursts of `burst`,
    /// keeping at most [`MAX_CLIENTS`] buckets.
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self::with_capacity(per_second, burst, MAX_CLIENTS)
    }

    /// A limiter keeping at most `capacity` buckets.
    pub fn with_capacity(per_second: f64, burst: f64, capacity: usize) -> Self {
        Self {
            per_second,
            burst,
            capacity: capacity.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client`; on refusal, how long until one is available.
    pub fn check(&self, client: &ClientKey, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut key = client;
        if !buckets.contains_key(key) && buckets.len() >= self.capacity {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, bucket| bucket.refilled(now, per_second, burst) < burst);
            if buckets.len() >= self.capacity {
                key = &ClientKey::Overflow;
            }
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = bucket.refilled(now, self.per_second, self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// How many buckets are kept now.
    pub fn clients(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::Ipv4Addr;

    use super::*;

    fn participant(name: &str) -> ClientKey {
        ClientKey::Participant(name.to_owned())
    }

    #[test]
    fn the_bucket_allows_a_burst_then_refills() {
        let limiter = RateLimiter::new(10.0, 3.0);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&participant("a"), start).is_ok());
        }
        let wait = limiter.check(&participant("a"), start);
        assert!(matches!(wait, Err(wait) if wait <= Duration::from_millis(100)));
        assert!(
            limiter.check(&participant("b"), start).is_ok(),
            "clients are separate"
        );
        assert!(
            limiter
                .check(&participant("a"), start + Duration::from_millis(150))
                .is_ok()
        );
    }

    #[test]
    fn a_flood_of_new_clients_keeps_the_table_bounded_and_known_clients_served() {
        let limiter = RateLimiter::with_capacity(1.0, 2.0, 100);
        let start = Instant::now();
        assert!(limiter.check(&participant("known"), start).is_ok());
        let mut refused = 0;
        for n in 0..100_000u32 {
            let address = ClientKey::address(IpAddr::V4(Ipv4Addr::from(n)));
            if limiter.check(&address, start).is_err() {
                refused += 1;
            }
        }
        assert!(limiter.clients() <= 101, "{} buckets", limiter.clients());
        assert!(
            refused > 99_000,
            "newcomers share the overflow bucket: {refused}"
        );
        assert!(
            limiter.check(&participant("known"), start).is_ok(),
            "a client already known keeps its own bucket"
        );
    }

    #[test]
    fn refilled_buckets_make_room_for_new_clients() {
        let limiter = RateLimiter::with_capacity(10.0, 2.0, 2);
        let start = Instant::now();
        assert!(limiter.check(&participant("a"), start).is_ok());
        assert!(limiter.check(&participant("b"), start).is_ok());
        let later = start + Duration::from_secs(1);
        assert!(limiter.check(&participant("c"), later).is_ok());
        assert!(limiter.check(&participant("c"), later).is_ok());
        assert!(
            limiter.check(&participant("c"), later).is_err(),
            "c has its own bucket of 2, not the overflow's"
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::address(one), ClientKey::address(other));
        assert_ne!(ClientKey::address(one), ClientKey::address(elsewhere));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            ClientKey::address(mapped),
            ClientKey::address("192.0.2.7".parse().unwrap())
        );
    }
}

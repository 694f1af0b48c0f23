//! Request budgets (GCRA, with `governor`): per client, and per source
//! address and overall for credential checks on the token endpoint; JSON
//! nesting limits.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota};

/// Deepest JSON nesting accepted in a request body.
pub const MAX_JSON_DEPTH: usize = 32;

/// Whether a JSON text nests deeper than `max` (strings are skipped, so
/// brackets inside them do not count).
pub fn too_deep(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

type Keyed<K> =
    governor::RateLimiter<K, governor::state::keyed::DefaultKeyedStateStore<K>, DefaultClock>;

/// A budget as a GCRA quota: `per_minute` a minute, bursts up to `burst`.
fn quota(per_minute: u32, burst: u32) -> Quota {
    let period = Duration::from_nanos(60_000_000_000 / u64::from(per_minute.max(1)));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// Whole seconds until `refused` allows a request again (at least 1, for `Retry-After`).
fn retry_after(refused: &NotUntil<<DefaultClock as Clock>::Instant>, clock: &DefaultClock) -> u64 {
    let wait = refused.wait_time_from(clock.now());
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// A request budget per key (a client id): `per_minute` requests a minute,
/// bursts up to `burst`. Keys are authenticated client ids, so their number is
/// bounded by the registered clients.
pub struct RateLimiter {
    limiter: Keyed<String>,
    clock: DefaultClock,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per key.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        let clock = DefaultClock::default();
        RateLimiter {
            limiter: governor::RateLimiter::hashmap_with_clock(
                quota(per_minute, burst),
                clock.clone(),
            ),
            clock,
        }
    }

    /// Takes one request from `key`'s budget; on refusal, the seconds until one is available.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.limiter
            .check_key(&key.to_string())
            .map_err(|refused| retry_after(&refused, &self.clock))
    }
}

/// The budget of credential checks on the token endpoint, per source address
/// and overall. Each check costs an Argon2 hash, so the budget bounds the CPU
/// and memory an unauthenticated caller can make the server spend.
///
/// Memory stays bounded: addresses whose budget is full again are forgotten
/// every minute, and at most `max_addresses` are tracked; past that, new
/// addresses share one budget until the next sweep makes room.
pub struct AttemptLimiter {
    per_address: Keyed<IpAddr>,
    overall: governor::RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    clock: DefaultClock,
    max_addresses: usize,
    last_sweep: Mutex<Instant>,
}

/// Why a credential check was refused, with the seconds to wait.
#[derive(Debug, PartialEq, Eq)]
pub enum AttemptRefused {
    /// This source address used up its budget.
    Address(u64),
    /// Every address together used up the overall budget.
    Overall(u64),
}

/// Where budgets of addresses go once `max_addresses` are tracked.
const SHARED: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

impl AttemptLimiter {
    /// Budgets of `per_address` checks a minute (bursts of `address_burst`)
    /// per source address and `overall` a minute (bursts of `overall_burst`).
    pub fn new(
        per_address: (u32, u32),
        overall: (u32, u32),
        max_addresses: usize,
    ) -> AttemptLimiter {
        let clock = DefaultClock::default();
        AttemptLimiter {
            per_address: governor::RateLimiter::hashmap_with_clock(
                quota(per_address.0, per_address.1),
                clock.clone(),
            ),
            overall: governor::RateLimiter::direct_with_clock(
                quota(overall.0, overall.1),
                clock.clone(),
            ),
            clock,
            max_addresses: max_addresses.max(1),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Takes one credential check from `addr`'s budget and from the overall one.
    pub fn check(&self, addr: IpAddr) -> Result<(), AttemptRefused> {
        let key = self.key(addr);
        // The address first: one address over its budget must not use up everyone's.
        self.per_address
            .check_key(&key)
            .map_err(|r| AttemptRefused::Address(retry_after(&r, &self.clock)))?;
        self.overall
            .check()
            .map_err(|r| AttemptRefused::Overall(retry_after(&r, &self.clock)))
    }

    /// How many addresses are tracked now.
    pub fn tracked(&self) -> usize {
        self.per_address.len()
    }

    /// The key of `addr`: IPv4 addresses as they are, IPv6 by /64 (one
    /// subscriber's allocation), or the shared key once the map is full.
    fn key(&self, addr: IpAddr) -> IpAddr {
        let addr = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
            },
            v4 => v4,
        };
        let due = {
            let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
            let full = self.per_address.len() >= self.max_addresses;
            // Sweeping is O(tracked): at most once a second when full, else once a minute.
            let every = if full { 1 } else { 60 };
            let due = last.elapsed() >= Duration::from_secs(every);
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.per_address.retain_recent();
            self.per_address.shrink_to_fit();
        }
        if self.per_address.len() >= self.max_addresses {
            SHARED
        } else {
            addr
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_only_structure() {
        assert!(!too_deep(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(too_deep(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!too_deep(br#"{"a":"[[[[[[[[[["}"#, 2));
        assert!(!too_deep(br#"{"a":"\"[[[[["}"#, 2));
        let deep = "[".repeat(10_000);
        assert!(too_deep(deep.as_bytes(), MAX_JSON_DEPTH));
    }

    #[test]
    fn bucket_refuses_after_burst_and_names_a_wait() {
        let l = RateLimiter::new(60, 3);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(wait >= 1);
        assert!(l.check("b").is_ok(), "keys are independent");
    }

    fn addr(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn each_address_has_its_own_budget_within_the_overall_one() {
        let l = AttemptLimiter::new((1, 2), (1, 5), 1000);
        assert_eq!(l.check(addr(1)), Ok(()));
        assert_eq!(l.check(addr(1)), Ok(()));
        assert!(matches!(l.check(addr(1)), Err(AttemptRefused::Address(s)) if s >= 1));
        // The refused attempt took nothing from the overall budget.
        for n in 2..=4 {
            assert_eq!(l.check(addr(n)), Ok(()), "address {n}");
        }
        assert!(matches!(l.check(addr(5)), Err(AttemptRefused::Overall(s)) if s >= 1));
    }

    #[test]
    fn ipv6_addresses_share_a_budget_per_64() {
        let l = AttemptLimiter::new((1, 1), (1000, 1000), 1000);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(l.check(a), Ok(()));
        assert!(l.check(b).is_err(), "same /64");
        assert_eq!(l.check(other), Ok(()));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(l.check(addr(1)), Ok(()));
        assert!(
            l.check(mapped).is_err(),
            "a mapped IPv4 address is that address"
        );
    }

    #[test]
    fn tracked_addresses_stay_bounded() {
        let l = AttemptLimiter::new((1, 1), (u32::MAX, u32::MAX), 100);
        for n in 0..20_000 {
            let _ = l.check(addr(n));
        }
        assert!(l.tracked() <= 101, "tracked {}", l.tracked());
        // Past the cap new addresses share one budget instead of growing the map.
        assert!(l.check(addr(30_000)).is_err());
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        // Budgets refill within 10 ms, so after a pause every address is fresh again.
        let l = AttemptLimiter::new((6000, 1), (u32::MAX, u32::MAX), 50);
        for n in 0..50 {
            let _ = l.check(addr(n));
        }
        assert_eq!(l.tracked(), 50);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(l.check(addr(99)), Ok(()), "the sweep made room");
        assert!(l.tracked() <= 2, "tracked {}", l.tracked());
    }
}

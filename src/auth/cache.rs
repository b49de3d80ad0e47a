//! A bounded, per-isolate memory of tokens whose signature already verified.
//!
//! A hit skips only the signature check: time claims and audience are checked on every
//! request. Entries are keyed by the SHA-256 of the whole token text, so a token that differs
//! in any byte (a re-encoded signature included) is a different entry; they remember the key
//! that verified them, so a hit counts only while that same key is still the one chosen, and
//! they are dropped once the token's `exp` (plus leeway) has passed.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

/// How many tokens are remembered by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The SHA-256 of a token's text.
pub type TokenDigest = [u8; 32];

/// Hashes a token for [`VerifiedTokens`].
pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key_id: u64,
    forget_at: f64,
}

/// Tokens with a verified signature, oldest first out.
#[derive(Debug)]
pub struct VerifiedTokens {
    entries: HashMap<TokenDigest, Entry>,
    order: VecDeque<TokenDigest>,
    capacity: usize,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens::with_capacity(DEFAULT_CAPACITY)
    }
}

impl VerifiedTokens {
    /// An empty cache holding at most `capacity` tokens.
    pub fn with_capacity(capacity: usize) -> Self {
        VerifiedTokens {
            entries: HashMap::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the token with `digest` was verified by the key `key_id` and may still be
    /// valid at `now`.
    pub fn contains(&self, digest: &TokenDigest, key_id: u64, now: f64) -> bool {
        self.entries
            .get(digest)
            .is_some_and(|entry| entry.key_id == key_id && now < entry.forget_at)
    }

    /// Remembers that `key_id` verified the token with `digest`, until `forget_at` (the
    /// token's `exp` plus leeway).
    pub fn insert(&mut self, digest: TokenDigest, key_id: u64, forget_at: f64, now: f64) {
        if self.capacity == 0 || !forget_at.is_finite() || forget_at <= now {
            return;
        }
        if let Some(entry) = self.entries.get_mut(&digest) {
            *entry = Entry { key_id, forget_at };
            return;
        }
        if self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
        self.entries.insert(digest, Entry { key_id, forget_at });
        self.order.push_back(digest);
    }

    /// Forgets every token verified by one of `keys`.
    pub fn forget_keys(&mut self, keys: &[u64]) {
        self.entries
            .retain(|_, entry| !keys.contains(&entry.key_id));
        let entries = &self.entries;
        self.order.retain(|digest| entries.contains_key(digest));
    }

    /// Drops the oldest entry. This is O(1): under a flood of fresh tokens every insert
    /// evicts, so it must not scan the cache. Expired entries are simply never hits, and
    /// leave in their turn.
    fn evict_oldest(&mut self) {
        while let Some(oldest) = self.order.pop_front() {
            if self.entries.remove(&oldest).is_some() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_needs_the_same_token_and_key_before_expiry() {
        let mut cache = VerifiedTokens::default();
        let d = digest("a.b.c");
        cache.insert(d, 7, 100.0, 10.0);
        assert!(cache.contains(&d, 7, 99.9));
        assert!(!cache.contains(&d, 7, 100.0));
        assert!(!cache.contains(&d, 8, 50.0));
        assert!(!cache.contains(&digest("a.b.d"), 7, 50.0));
    }

    #[test]
    fn expired_or_non_finite_tokens_are_not_remembered() {
        let mut cache = VerifiedTokens::default();
        cache.insert(digest("x"), 1, 5.0, 10.0);
        cache.insert(digest("y"), 1, f64::INFINITY, 10.0);
        assert!(cache.is_empty());
    }

    #[test]
    fn stays_within_capacity_dropping_the_oldest() {
        let mut cache = VerifiedTokens::with_capacity(3);
        for t in ["1", "2", "3", "4"] {
            cache.insert(digest(t), 1, 500.0, 0.0);
        }
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains(&digest("1"), 1, 1.0));
        // Refreshing an entry does not make it younger, nor duplicate it.
        cache.insert(digest("2"), 1, 600.0, 0.0);
        cache.insert(digest("5"), 1, 500.0, 0.0);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains(&digest("2"), 1, 1.0));
        for t in ["3", "4", "5"] {
            assert!(cache.contains(&digest(t), 1, 1.0), "{t}");
        }
    }

    #[test]
    fn a_flood_of_fresh_tokens_keeps_the_newest() {
        let mut cache = VerifiedTokens::with_capacity(DEFAULT_CAPACITY);
        for n in 0..10 * DEFAULT_CAPACITY {
            cache.insert(digest(&n.to_string()), 1, 500.0, 0.0);
        }
        assert_eq!(cache.len(), DEFAULT_CAPACITY);
        assert_eq!(cache.order.len(), DEFAULT_CAPACITY);
        assert!(cache.contains(&digest(&(10 * DEFAULT_CAPACITY - 1).to_string()), 1, 1.0));
        assert!(!cache.contains(&digest(&(9 * DEFAULT_CAPACITY - 1).to_string()), 1, 1.0));
    }

    #[test]
    fn replacing_keys_forgets_their_tokens() {
        let mut cache = VerifiedTokens::default();
        cache.insert(digest("old"), 1, 500.0, 0.0);
        cache.insert(digest("new"), 2, 500.0, 0.0);
        cache.forget_keys(&[1]);
        assert!(!cache.contains(&digest("old"), 1, 1.0));
        assert!(cache.contains(&digest("new"), 2, 1.0));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn digests_are_sha256() {
        assert_eq!(
            digest("abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") begins ba7816bf"
        );
    }
}

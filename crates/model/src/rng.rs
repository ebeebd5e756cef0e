//! The one way randomness enters drawbridge: a seeded, portable generator.
//!
//! ChaCha8 gives the same stream on every platform, so a seed reproduces a market path, a demo
//! password and a simulation run byte for byte. Derive independent streams with [`Rng::fork`].

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// An independent stream named by `stream` (e.g. a symbol index), stable for a given seed.
    pub fn fork(&self, stream: u64) -> Self {
        let mut child = self.0.clone();
        child.set_stream(stream.wrapping_add(1));
        child.set_word_pos(0);
        Self(child)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Uniform in `lo..hi` (exclusive); `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..hi)
        }
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A password of `len` letters and digits, as MT5 demo servers hand out.
    pub fn password(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        (0..len)
            .map(|_| ALPHABET[self.range(0, ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_forks_differ() {
        let mut a = Rng::seeded(7);
        let mut b = Rng::seeded(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut f1 = Rng::seeded(7).fork(1);
        let mut f2 = Rng::seeded(7).fork(2);
        assert_ne!(f1.next_u64(), f2.next_u64());
        assert_eq!(
            Rng::seeded(7).fork(1).password(8),
            Rng::seeded(7).fork(1).password(8)
        );
    }
}

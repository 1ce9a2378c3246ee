//! The block encoder's loops over a whole column: the folds that find how
//! wide its values are and whether they vary, their smallest and largest
//! (the statistics), and its byte planes. Each (but the IPv6 planes,
//! which neither build vectorises) is compiled twice on x86-64, for the
//! baseline CPU (SSE2) and for AVX2, and picks the second where the CPU
//! has it (asked once per call: a column is thousands of values).
//!
//! Why: these are plain loops the compiler vectorises, and AVX2 gives it
//! registers twice as wide and the byte shuffles a plane needs. Building
//! the whole program for AVX2 instead would stop it running on CPUs
//! without it (the Atoms of many firewall appliances among them), so only
//! these loops are. (The README gives what it measured.)

use crate::codec::Lane;

/// Returns `$avx2` (a call of the function's AVX2 build) when the CPU
/// has AVX2; else goes on to `$body`, the same loop as built.
macro_rules! with_avx2 {
    ($avx2:expr, $body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above: all the
            // function needs to run.
            return unsafe { $avx2 };
        }
        $body
    }};
}

/// The OR of a column's values and the OR of each value XOR the first
/// (zero when all are equal).
pub(crate) fn or_and_diff<T: Lane>(values: &[T]) -> (T, T) {
    with_avx2!(avx2::or_and_diff(values), or_and_diff_body(values))
}

#[inline(always)]
fn or_and_diff_body<T: Lane>(values: &[T]) -> (T, T) {
    let first = values.first().copied().unwrap_or_default();
    values
        .iter()
        .fold((T::default(), T::default()), |(or, diff), v| {
            (or | *v, diff | (*v ^ first))
        })
}

/// The smallest and largest of a column's values (those of an empty
/// column: the default).
pub(crate) fn min_max<T: Lane>(values: &[T]) -> (T, T) {
    with_avx2!(avx2::min_max(values), min_max_body(values))
}

#[inline(always)]
fn min_max_body<T: Lane>(values: &[T]) -> (T, T) {
    let first = values.first().copied().unwrap_or_default();
    values
        .iter()
        .fold((first, first), |(l, h), v| (l.min(*v), h.max(*v)))
}

/// Writes the byte planes of `values` to `planes`: its first
/// `values.len()` bytes are the lowest byte of every value, the next the
/// byte above, and so on for as many planes as `planes` has room for.
pub(crate) fn byte_planes<T: Lane>(values: &[T], planes: &mut [u8]) {
    with_avx2!(
        avx2::byte_planes(values, planes),
        byte_planes_body(values, planes)
    )
}

#[inline(always)]
fn byte_planes_body<T: Lane>(values: &[T], planes: &mut [u8]) {
    // Plane by plane: sequential writes the compiler vectorises.
    for (b, plane) in planes.chunks_exact_mut(values.len().max(1)).enumerate() {
        let shift = 8 * b as u32;
        for (dst, v) in plane.iter_mut().zip(values) {
            *dst = (v.wide() >> shift) as u8;
        }
    }
}

/// [`byte_planes`] of IPv6 values. Built once: the compiler vectorises
/// neither build (a value is two u64 halves), so AVX2 would buy nothing.
pub(crate) fn wide_byte_planes(values: &[u128], planes: &mut [u8]) {
    // Each plane reads one u64 half, chosen outside the loop: a u128
    // shift by a variable is several instructions with a branch (perf
    // showed them in floed's write thread).
    for (b, plane) in planes.chunks_exact_mut(values.len().max(1)).enumerate() {
        let shift = 8 * (b % 8) as u32;
        if b < 8 {
            for (dst, v) in plane.iter_mut().zip(values) {
                *dst = (*v as u64 >> shift) as u8;
            }
        } else {
            for (dst, v) in plane.iter_mut().zip(values) {
                *dst = ((*v >> 64) as u64 >> shift) as u8;
            }
        }
    }
}

/// The loops built for AVX2: callable only where the CPU has it.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn or_and_diff<T: Lane>(values: &[T]) -> (T, T) {
        or_and_diff_body(values)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn min_max<T: Lane>(values: &[T]) -> (T, T) {
        min_max_body(values)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn byte_planes<T: Lane>(values: &[T], planes: &mut [u8]) {
        byte_planes_body(values, planes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values across the whole of u64, of lengths around the vectors'
    /// widths.
    fn columns() -> Vec<Vec<u64>> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        [
            0usize, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 100, 1000,
        ]
        .iter()
        .map(|n| {
            (0..*n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Some columns narrow, as most are.
                    if x.is_multiple_of(3) {
                        x >> 40
                    } else {
                        x
                    }
                })
                .collect()
        })
        .collect()
    }

    /// Each build of each loop (the baseline's, and AVX2's where the CPU
    /// has it) against what one value at a time gives, for every type a
    /// column holds.
    fn check<T: Lane + std::fmt::Debug>(narrow: impl Fn(u64) -> T) {
        for values in columns() {
            let values: Vec<T> = values.into_iter().map(&narrow).collect();
            let n = values.len();
            let or = values.iter().fold(T::default(), |a, v| a | *v);
            let diff = values
                .iter()
                .fold(T::default(), |a, v| a | (*v ^ values[0]));
            let lo = values.iter().copied().min().unwrap_or_default();
            let hi = values.iter().copied().max().unwrap_or_default();
            let builds: [Build<T>; 2] = [
                ("baseline", or_and_diff_body, min_max_body, byte_planes_body),
                ("dispatched", or_and_diff, min_max, byte_planes),
            ];
            for (build, or_and_diff, min_max, byte_planes) in builds {
                assert_eq!(or_and_diff(&values), (or, diff), "{build} {n}");
                assert_eq!(min_max(&values), (lo, hi), "{build} {n}");
                for width in 1..=std::mem::size_of::<T>() {
                    let mut planes = vec![0xAA; n * width];
                    byte_planes(&values, &mut planes);
                    let want: Vec<u8> = (0..width)
                        .flat_map(|b| values.iter().map(move |v| (v.wide() >> (8 * b)) as u8))
                        .collect();
                    assert_eq!(planes, want, "{build} {n} {width}");
                }
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                let (od, mm) = unsafe { (avx2::or_and_diff(&values), avx2::min_max(&values)) };
                assert_eq!((od, mm), ((or, diff), (lo, hi)), "avx2 {n}");
                let width = std::mem::size_of::<T>();
                let (mut a, mut b) = (vec![0; n * width], vec![1; n * width]);
                byte_planes_body(&values, &mut a);
                // SAFETY: as above.
                unsafe { avx2::byte_planes(&values, &mut b) };
                assert_eq!(a, b, "avx2 {n}");
            }
        }
    }

    /// A build's name and its three loops.
    type Build<T> = (
        &'static str,
        fn(&[T]) -> (T, T),
        fn(&[T]) -> (T, T),
        fn(&[T], &mut [u8]),
    );

    #[test]
    fn every_build_computes_what_one_value_at_a_time_does() {
        check(|v| v as u8);
        check(|v| v as u16);
        check(|v| v as u32);
        check(|v| v);
    }

    #[test]
    fn ipv6_planes_are_each_byte_of_every_value() {
        for values in columns() {
            let wide: Vec<u128> = values
                .iter()
                .map(|v| u128::from(*v) << 64 | u128::from(v.rotate_left(9)))
                .collect();
            for width in [1, 8, 9, 16] {
                let mut planes = vec![0xAA; wide.len() * width];
                wide_byte_planes(&wide, &mut planes);
                let want: Vec<u8> = (0..width)
                    .flat_map(|b| wide.iter().map(move |v| (v >> (8 * b)) as u8))
                    .collect();
                assert_eq!(planes, want, "{} {width}", wide.len());
            }
        }
    }
}

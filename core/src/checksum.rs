//! The cross-target checksum line: `epochs=N final_loss=0x%08x weights_fnv1a=0x%08x`.
//!
//! `final_loss` is the f32 bit pattern of the loss after the last update; `weights_fnv1a` is
//! FNV-1a (32-bit) over the little-endian bytes of W_E and then W_U, each row-major, as
//! PyTorch stores them. Equal lines mean bit-identical training.

use crate::model::Model;

/// FNV-1a 32's offset basis: the hash of nothing.
pub const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a 32 over the little-endian bytes of `values`, continuing from `hash`.
pub fn fnv1a_f32(mut hash: u32, values: impl IntoIterator<Item = f32>) -> u32 {
    for x in values {
        for byte in x.to_bits().to_le_bytes() {
            hash ^= byte as u32;
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    hash
}

/// FNV-1a 32 of W_E then W_U, each row-major, over the model's used size.
pub fn weights_fnv1a<const V: usize, const D: usize>(m: &Model<V, D>) -> u32 {
    let h = fnv1a_f32(FNV_OFFSET, m.w_e_row_major());
    fnv1a_f32(h, m.w_u_row_major())
}

/// The checksum line, formatted into any `core::fmt::Write` (a `heapless::String`, stdout…).
pub fn write_line<const V: usize, const D: usize>(
    out: &mut impl core::fmt::Write,
    epochs: u32,
    final_loss: f32,
    m: &Model<V, D>,
) -> core::fmt::Result {
    write_line_of(out, epochs, final_loss, weights_fnv1a(m))
}

/// The checksum line of a run whose weights hash to `fnv1a` (the line's one format).
pub fn write_line_of(
    out: &mut impl core::fmt::Write,
    epochs: u32,
    final_loss: f32,
    fnv1a: u32,
) -> core::fmt::Result {
    write!(
        out,
        "epochs={epochs} final_loss=0x{:08x} weights_fnv1a=0x{fnv1a:08x}",
        final_loss.to_bits(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_vectors() {
        // FNV-1a 32 of the empty input is the offset basis; of the bytes "a" it is 0xe40c292c.
        assert_eq!(fnv1a_f32(FNV_OFFSET, []), 0x811c_9dc5);
        let mut h = FNV_OFFSET;
        h ^= b'a' as u32;
        h = h.wrapping_mul(FNV_PRIME);
        assert_eq!(h, 0xe40c_292c);
        // 1.0f32 is 0x3f800000: bytes 00 00 80 3f.
        let mut r = FNV_OFFSET;
        for b in [0x00u8, 0x00, 0x80, 0x3f] {
            r = (r ^ b as u32).wrapping_mul(FNV_PRIME);
        }
        assert_eq!(fnv1a_f32(FNV_OFFSET, [1.0f32]), r);
    }
}

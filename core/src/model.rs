//! The zero-layer transformer: `logits = W_E[token] · W_U`.
//!
//! Shapes: `W_E` is V×D, `W_U` is D×V (nalgebra `SMatrix`, column-major in memory). `V` and `D`
//! are capacities; a model may use fewer tokens (`vocab_len ≤ V`) and dimensions
//! (`d_model ≤ D`). The unused rows and columns hold exact zeros, which stay zero under training
//! (their gradient, moments and decay are all zero), so a padded model computes the same
//! numbers as one of its exact size.

use nalgebra::SMatrix;

/// A size that does not fit the model's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeError {
    /// Requested vocabulary size.
    pub vocab_len: usize,
    /// Requested d_model.
    pub d_model: usize,
    /// Vocabulary capacity `V`.
    pub max_vocab: usize,
    /// d_model capacity `D`.
    pub max_d_model: usize,
}

impl core::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "a model of {} tokens × d_model {} does not fit this build's capacity of 1..={} tokens × 1..={} d_model",
            self.vocab_len, self.d_model, self.max_vocab, self.max_d_model
        )
    }
}

impl core::error::Error for ShapeError {}

/// Weights of a zero-layer transformer with capacity `V` tokens × `D` dimensions.
#[derive(Clone, Debug, PartialEq)]
pub struct Model<const V: usize, const D: usize> {
    /// Embedding, V×D: row `t` is token `t`'s residual-stream vector.
    pub w_e: SMatrix<f32, V, D>,
    /// Unembedding, D×V: column `t` reads out token `t`'s logit.
    pub w_u: SMatrix<f32, D, V>,
    vocab_len: usize,
    d_model: usize,
}

impl<const V: usize, const D: usize> Model<V, D> {
    /// All-zero weights of the given size.
    pub fn zeros(vocab_len: usize, d_model: usize) -> Result<Self, ShapeError> {
        if vocab_len == 0 || vocab_len > V || d_model == 0 || d_model > D {
            return Err(ShapeError {
                vocab_len,
                d_model,
                max_vocab: V,
                max_d_model: D,
            });
        }
        Ok(Model {
            w_e: SMatrix::zeros(),
            w_u: SMatrix::zeros(),
            vocab_len,
            d_model,
        })
    }

    /// The notebook's initialisation after `torch.manual_seed(seed)`:
    /// `W_E = randn(v, d) / sqrt(d)`, then `W_U = randn(d, v) / sqrt(d)`, from one generator.
    pub fn init_torch(seed: u64, vocab_len: usize, d_model: usize) -> Result<Self, ShapeError> {
        let mut m = Self::zeros(vocab_len, d_model)?;
        let (v, d) = (vocab_len, d_model);
        // Drawn row-major, as torch fills them (crate::rng::init_torch), then placed.
        let (mut e, mut u) = (SMatrix::<f32, V, D>::zeros(), SMatrix::<f32, D, V>::zeros());
        let (e, u) = (
            &mut e.as_mut_slice()[..v * d],
            &mut u.as_mut_slice()[..d * v],
        );
        crate::rng::init_torch(seed, d, e, u);
        for i in 0..v {
            for k in 0..d {
                m.w_e[(i, k)] = e[i * d + k];
                m.w_u[(k, i)] = u[k * v + i];
            }
        }
        Ok(m)
    }

    /// Builds a model from row-major weights, as PyTorch stores them: `w_e` holds
    /// `vocab_len × d_model` values, `w_u` holds `d_model × vocab_len`.
    pub fn from_row_major(
        vocab_len: usize,
        d_model: usize,
        w_e: &[f32],
        w_u: &[f32],
    ) -> Result<Self, ShapeError> {
        let mut m = Self::zeros(vocab_len, d_model)?;
        let (v, d) = (vocab_len, d_model);
        if w_e.len() != v * d || w_u.len() != d * v {
            return Err(ShapeError {
                vocab_len,
                d_model,
                max_vocab: V,
                max_d_model: D,
            });
        }
        for i in 0..v {
            for k in 0..d {
                m.w_e[(i, k)] = w_e[i * d + k];
                m.w_u[(k, i)] = w_u[k * v + i];
            }
        }
        Ok(m)
    }

    /// Tokens in use.
    pub fn vocab_len(&self) -> usize {
        self.vocab_len
    }

    /// Dimensions in use.
    pub fn d_model(&self) -> usize {
        self.d_model
    }

    /// `W_E` in row-major order (`vocab_len` rows of `d_model`), as PyTorch stores it.
    pub fn w_e_row_major(&self) -> impl Iterator<Item = f32> + '_ {
        let d = self.d_model;
        (0..self.vocab_len * d).map(move |n| self.w_e[(n / d, n % d)])
    }

    /// `W_U` in row-major order (`d_model` rows of `vocab_len`), as PyTorch stores it.
    pub fn w_u_row_major(&self) -> impl Iterator<Item = f32> + '_ {
        let v = self.vocab_len;
        (0..self.d_model * v).map(move |n| self.w_u[(n / v, n % v)])
    }

    /// Whether every weight is finite.
    pub fn is_finite(&self) -> bool {
        self.w_e
            .iter()
            .chain(self.w_u.iter())
            .all(|x| x.is_finite())
    }

    /// The embedding of `token`: row `token` of `W_E` (the notebook's `hook_embed`).
    pub fn embed(&self, token: usize) -> nalgebra::SVector<f32, D> {
        self.w_e.row(token).transpose()
    }

    /// Next-token logits for `token`: `W_E[token] · W_U`, one per vocabulary entry, summed over
    /// d in ascending order, as [`crate::loss`] sums them.
    pub fn logits_of(&self, token: usize) -> nalgebra::SVector<f32, V> {
        let mut out = nalgebra::SVector::<f32, V>::zeros();
        for j in 0..self.vocab_len {
            let mut acc = 0.0f32;
            for k in 0..D {
                acc += self.w_e[(token, k)] * self.w_u[(k, j)];
            }
            out[j] = acc;
        }
        out
    }
}

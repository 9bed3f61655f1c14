//! zl-cuda: the CUDA backend. Not built yet: the PTX kernels and their launch code have an issue
//! of their own. Until then every entry point returns [`CudaError::NotBuilt`].

/// Everything that can go wrong on the CUDA backend.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// The backend's kernels are not written yet.
    #[error("the CUDA backend is not built yet; use --backend cpu")]
    NotBuilt,
}

/// Opens the CUDA device.
pub fn open() -> Result<(), CudaError> {
    Err(CudaError::NotBuilt)
}

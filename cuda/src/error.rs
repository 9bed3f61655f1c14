//! Everything that can go wrong on the CUDA backend, as one enum.

use cudarc::driver::DriverError;

/// Everything that can go wrong on the CUDA backend.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// `libcuda` could not be loaded: no NVIDIA driver is installed.
    #[error("no CUDA driver on this machine (libcuda.so could not be loaded); install the NVIDIA driver or use --backend cpu")]
    NoDriver,
    /// The driver loaded, but it sees no GPU (or not the one asked for).
    #[error("no CUDA GPU: the driver sees {count} device(s) and GPU {ordinal} was asked for; use --backend cpu")]
    NoGpu {
        /// The device index asked for.
        ordinal: usize,
        /// Devices the driver reports.
        count: usize,
    },
    /// The driver's JIT could not compile a kernel file for this GPU; `log` is the JIT's own
    /// error log, on one line.
    #[error("the CUDA driver could not JIT-compile kernels/{file} ({error}); the JIT says: {log}")]
    Jit {
        /// The file under kernels/.
        file: &'static str,
        /// What cuModuleLoadDataEx returned.
        error: DriverError,
        /// The JIT's error log (else its info log), its lines joined by " | ".
        log: String,
    },
    /// A call into the CUDA driver failed.
    #[error("CUDA driver error: {0}")]
    Driver(#[from] DriverError),
    /// The model does not fit one thread block's shared memory on this device.
    #[error(
        "a model of {vocab_len} tokens x d_model {d_model} needs {needed} bytes of shared memory per \
         block (4*(8*v*d + 3*v^2 + 5*v + 2)), but this GPU allows {available}; use --backend cpu"
    )]
    TooLarge {
        /// Tokens.
        vocab_len: usize,
        /// d_model.
        d_model: usize,
        /// Shared memory the kernel needs, in bytes.
        needed: u64,
        /// The device's per-block limit (opt-in), in bytes.
        available: u64,
    },
    /// The inputs of one launch do not agree with each other.
    #[error("invalid launch: {0}")]
    Invalid(String),
    /// The PTX simulator (kernels/sim/ptxsim.py) could not run or reported a fault in the kernel.
    #[error("PTX simulator: {0}")]
    Simulator(String),
}

impl CudaError {
    /// Whether the error only says that this machine has no usable GPU (so a test may skip).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, CudaError::NoDriver | CudaError::NoGpu { .. })
    }
}

//! `ctas._core`: the CTAS core in Python.
//!
//! A face, as the extension and the router are: each function converts Python values to
//! the core's, calls the core, and converts the answer back. Long work runs with the GIL
//! released (`Python::detach`), so other Python threads go on meanwhile, and a Ctrl-C
//! stops it part way (`interrupt`). The package `ctas` re-exports what is here; the
//! signatures and their documentation for editors are in `python/ctas/_core.pyi`.

use pyo3::prelude::*;

mod analyze;
mod behaviour;
mod error;
mod geo;
mod interrupt;
mod ioc;
mod json;
mod patterns;
mod score;
mod time;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    interrupt::register();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CtasError", m.py().get_type::<error::CtasError>())?;
    ioc::register(m)?;
    patterns::register(m)?;
    score::register(m)?;
    geo::register(m)?;
    behaviour::register(m)?;
    analyze::register(m)?;
    Ok(())
}

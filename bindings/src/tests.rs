//! The bridging layer's own checks; the real tests of the SDK are the
//! Kotlin tests in `bindings/kotlin/`, run against the built library.

use super::*;

#[test]
fn a_panic_inside_becomes_an_internal_error() {
    let r = diagnostics_panic_is_an_error();
    assert!(matches!(r, Err(AnxinError::Internal { .. })));
}

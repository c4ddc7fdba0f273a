//! The bridging layer's own checks; the real tests of the SDK are the
//! Kotlin tests in `bindings/kotlin/`, run against the built library.

use super::*;

#[test]
fn a_panic_inside_becomes_an_internal_error() {
    let r = diagnostics_panic_is_an_error();
    assert!(matches!(r, Err(AnxinError::Internal { .. })));
}

/// A panic's message could quote a name or an answer: run in a child
/// process, a panic inside the guard prints where it happened and nothing
/// of its message.
#[test]
fn a_panics_message_never_reaches_stderr() {
    const CHILD: &str = "ANXIN_PANIC_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let r = error::guard::<()>(|| panic!("resident 王秀英 answered 3 at item 9"));
        assert!(matches!(r, Err(AnxinError::Internal { .. })));
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::a_panics_message_never_reaches_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("anxin: internal error at"), "{err}");
    assert!(
        !err.contains("王秀英") && !err.contains("answered"),
        "{err}"
    );
}

#[test]
fn the_sdk_enums_of_open_code_lists_cover_cores_lists_exactly() {
    let due: Vec<&str> = crate::records::DueKind::CODES
        .iter()
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(due, anxin_core::screening::case::DUE_KINDS);
    let conflicts: Vec<&str> = crate::records::ConflictKind::CODES
        .iter()
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(conflicts, anxin_core::dispatch::fold::CONFLICT_KINDS);
    for set in ["zh-CN", "international"] {
        assert_eq!(
            crate::records::CutoffSet::from_code(set).map(|c| c.code()),
            Some(set)
        );
    }
}

//! Cross-crate integration tests of Anxin: the crash test (a real child
//! process killed with SIGKILL), and helpers shared by the test files.

// Test code: an unwrap that fails is a failed test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::store::{NewWorker, Store, StoreError, StoreOptions};

/// Makes a store with a station, one grid and one volunteer; returns the
/// grid and the volunteer.
pub fn prepare_store(path: &Path, options: StoreOptions) -> Result<(GridId, WorkerId), StoreError> {
    let mut store = Store::open(path, options)?;
    store.setup_mut().init_station("崩溃测试站")?;
    let community = store
        .setup_mut()
        .add_community(&Author::System, "测试社区")?;
    let grid = store
        .setup_mut()
        .add_grid(&Author::System, &community, "第1网格")?;
    let volunteer = store.people_mut().add_worker(
        &Author::System,
        NewWorker {
            name: "测试志愿者".into(),
            phone: String::new(),
            role: Role::Volunteer,
            grid_id: Some(grid.clone()),
            skills: vec![],
        },
    )?;
    Ok((grid, volunteer))
}

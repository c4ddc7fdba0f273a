//! Anxin's own worker threads, where the async calls run.
//!
//! Two pools: writes (one thread: writes take the store's one writer in
//! turn anyway) and reads (two threads, on the read connection), so a list
//! a screen asks for never waits behind a sync applying a thousand
//! documents. Threads start on first use and live for the process.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{AnxinError, Result};

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    jobs: Mutex<Sender<Job>>,
}

impl Pool {
    fn start(name: &str, threads: usize) -> Pool {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("anxin-{name}-{n}"))
                .spawn(move || loop {
                    let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    // The calls are guarded already; this keeps the
                    // thread alive whatever happens.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                });
        }
        Pool {
            jobs: Mutex::new(tx),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = futures_channel::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(call());
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .is_ok();
        let lost = || AnxinError::Internal {
            reason: "Anxin's worker stopped before finishing this call".into(),
        };
        if !sent {
            return Err(lost());
        }
        rx.await.unwrap_or_else(|_| Err(lost()))
    }
}

fn reads() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::start("read", 2))
}

fn writes() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::start("write", 1))
}

/// Runs a read on the read pool.
pub(crate) async fn read<T: Send + 'static>(
    call: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    reads().run(call).await
}

/// Runs a write (or a sync step) on the write pool.
pub(crate) async fn write<T: Send + 'static>(
    call: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    writes().run(call).await
}

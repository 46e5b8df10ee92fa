//! Password hashing, bounded. Each argon2 check takes 19 MiB and tens of
//! milliseconds of one core; run unbounded, a burst of sign-ins takes every
//! core and gigabytes. Here a few dedicated threads do all of it, fed by a
//! short queue: a request finding the queue full gets the 503 "busy" page at
//! once instead of waiting or allocating. Dedicated threads also keep the
//! allocator's memory for argon2 in a few places, so it stays bounded after a
//! burst instead of spreading over every thread that ever hashed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::password;
use crate::web::error::AppError;

/// Checks waiting per worker before new ones are refused as busy.
pub const QUEUE_PER_WORKER: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

pub struct PasswordWorkers {
    jobs: SyncSender<Job>,
    /// A running average of one check's duration, in microseconds: refused
    /// attempts wait this long, so their answer takes as long as a check.
    typical_micros: Arc<AtomicU64>,
}

/// Half the cores (at least one): the other half keeps serving verification.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() / 2)
        .unwrap_or(1)
        .max(1)
}

impl PasswordWorkers {
    pub fn start(workers: usize) -> Self {
        let workers = workers.max(1);
        let (jobs, queue) = sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("latchkey-password-{n}"))
                .spawn(move || work(&queue))
                .expect("a password worker starts");
        }
        let this = PasswordWorkers {
            jobs,
            typical_micros: Arc::new(AtomicU64::new(0)),
        };
        // One check at start: it measures how long checks take here, and
        // makes the dummy hash used for unknown accounts.
        let typical = this.typical_micros.clone();
        let _ = this.jobs.try_send(Box::new(move || {
            let started = Instant::now();
            password::verify("calibration", None);
            typical.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        }));
        this
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(AppError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::Internal(
                    "the password workers have stopped".into(),
                ));
            }
        }
        answered
            .await
            .map_err(|_| AppError::Internal("a password check was dropped".into()))
    }

    /// Checks a password against a stored hash (or the dummy hash for an
    /// unknown account, so the time taken tells nothing).
    pub async fn verify(
        &self,
        candidate: String,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let typical = self.typical_micros.clone();
        self.run(move || {
            let started = Instant::now();
            let ok = password::verify(&candidate, stored.as_deref());
            let took = started.elapsed().as_micros() as u64;
            let old = typical.load(Ordering::Relaxed);
            let new = if old == 0 { took } else { (old * 7 + took) / 8 };
            typical.store(new, Ordering::Relaxed);
            ok
        })
        .await
    }

    pub async fn hash(&self, new_password: String) -> Result<String, AppError> {
        self.run(move || password::hash(&new_password)).await
    }

    /// Waits as long as a check usually takes, without doing one: for
    /// attempts refused before their password is looked at.
    pub async fn pretend(&self) {
        let micros = self.typical_micros.load(Ordering::Relaxed);
        actix_web::rt::time::sleep(Duration::from_micros(micros)).await;
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            // Every sender is gone: the server is shutting down.
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn checks_past_the_queue_are_refused_as_busy_not_queued_without_end() {
        let workers = PasswordWorkers::start(1);
        let stored = password::hash("a long passphrase of my own");
        let checks: Vec<_> = (0..QUEUE_PER_WORKER + 20)
            .map(|_| workers.verify("wrong guess here".into(), Some(stored.clone())))
            .collect();
        // join_all polls every check once before waiting: all are submitted at once.
        let answers = futures::future::join_all(checks).await;
        let busy = answers
            .iter()
            .filter(|a| matches!(a, Err(AppError::Busy)))
            .count();
        let checked = answers.iter().filter(|a| matches!(a, Ok(false))).count();
        // The worker takes a few checks off the queue while they are being
        // submitted, so a few more than the queue's length may fit.
        assert!((15..=20).contains(&busy), "{busy} busy");
        assert_eq!(checked + busy, QUEUE_PER_WORKER + 20);
        assert!(
            workers
                .verify("a long passphrase of my own".into(), Some(stored))
                .await
                .unwrap()
        );
    }
}

//! Password hashing, bounded. Each argon2 check takes 19 MiB and tens of
//! milliseconds of one core; run unbounded, a burst of sign-ins takes every
//! core and gigabytes. Here a few dedicated threads do all of it, at a lower
//! scheduling priority than the threads that answer verification, fed by a
//! short queue; a check that finds it full gets the 503 "busy" page at once.
//! Before that, a sign-in takes a place ([`PasswordWorkers::admit`]) for its
//! database work; one that finds none free is also told it is busy, so a
//! burst costs neither database work nor blocking threads past a bound. Dedicated threads also keep the allocator's memory for
//! argon2 in a few places, so it stays bounded after a burst instead of
//! spreading over every thread that ever hashed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::password;
use crate::web::error::AppError;

/// Checks waiting per worker before new ones are refused as busy.
pub const QUEUE_PER_WORKER: usize = 32;
/// Sign-ins doing their database work at once, per worker.
pub const PLACES_PER_WORKER: usize = 128;

type Job = Box<dyn FnOnce() + Send>;

/// A sign-in's place in the password workers' queue (see `admit`).
pub type Place = OwnedSemaphorePermit;

pub struct PasswordWorkers {
    jobs: SyncSender<Job>,
    /// One per sign-in doing its database work.
    places: Arc<Semaphore>,
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
                .spawn(move || {
                    lower_priority();
                    work(&queue)
                })
                .expect("a password worker starts");
        }
        let this = PasswordWorkers {
            jobs,
            places: Arc::new(Semaphore::new(workers * PLACES_PER_WORKER)),
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

    /// A place for one sign-in's database work; none free means the server
    /// is busy.
    pub fn admit(&self) -> Result<Place, AppError> {
        self.places
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy)
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

/// Hashing yields the processor to the threads answering requests: a burst of
/// sign-ins slows sign-in, not verification. (On Linux a nice value is per
/// thread; elsewhere this does nothing.)
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with PRIO_PROCESS and 0 only changes the calling
    // thread's nice value; it reads and writes no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
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
    async fn sign_ins_past_the_places_are_refused_as_busy_until_one_is_freed() {
        let workers = PasswordWorkers::start(1);
        let places: Vec<_> = (0..PLACES_PER_WORKER)
            .map(|_| workers.admit().expect("a free place"))
            .collect();
        assert!(matches!(workers.admit(), Err(AppError::Busy)));
        drop(places);
        assert!(workers.admit().is_ok());
    }

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

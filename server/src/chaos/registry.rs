//! The experiments' store and the runs going on: one run at a time per participant, each with
//! its halt switch.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::store::{ExperimentStore, StoreError};

/// The experiments and the runs going on.
#[derive(Debug)]
pub struct Experiments {
    store: ExperimentStore,
    /// The run going on for each participant, with its halt switch.
    active: Mutex<HashMap<String, Active>>,
    /// The instructor's latest game day: which run each participant got (also in the store, so
    /// it survives a restart).
    game_day: Mutex<Option<GameDay>>,
}

/// A game day: one experiment started for many participants at once.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GameDay {
    /// The experiment's title.
    pub title: String,
    /// When it started (pipeline time).
    pub started: i64,
    /// `(participant, run)` for everyone it started on.
    pub runs: Vec<(String, String)>,
    /// `(participant, why)` for those it could not start on.
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug)]
struct Active {
    run: String,
    halt: watch::Sender<Option<String>>,
}

impl Experiments {
    /// Opens the store in the data directory.
    pub fn open(data_dir: &std::path::Path) -> Result<Self, StoreError> {
        let store = ExperimentStore::open(data_dir)?;
        let game_day = store.game_day()?;
        Ok(Self {
            store,
            active: Mutex::new(HashMap::new()),
            game_day: Mutex::new(game_day),
        })
    }

    /// The saved experiments and runs.
    pub fn store(&self) -> &ExperimentStore {
        &self.store
    }

    fn active(&self) -> MutexGuard<'_, HashMap<String, Active>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `run` as `participant`'s run going on; answers the receiver of its halt switch,
    /// or the run already going on.
    pub fn begin(
        &self,
        participant: &str,
        run: &str,
    ) -> Result<watch::Receiver<Option<String>>, String> {
        let mut active = self.active();
        if let Some(going) = active.get(participant) {
            return Err(going.run.clone());
        }
        let (halt, halted) = watch::channel(None);
        active.insert(
            participant.to_owned(),
            Active {
                run: run.to_owned(),
                halt,
            },
        );
        Ok(halted)
    }

    /// The participant's run has ended.
    pub fn end(&self, participant: &str) {
        self.active().remove(participant);
    }

    /// Halts `run` if it is the participant's run going on.
    pub fn halt(&self, participant: &str, run: &str, reason: &str) {
        if let Some(active) = self
            .active()
            .get(participant)
            .filter(|active| active.run == run)
        {
            active.halt.send_replace(Some(reason.to_owned()));
        }
    }

    /// The latest game day, if any.
    pub fn game_day(&self) -> Option<GameDay> {
        self.game_day
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records a new game day, replacing the last, in memory and in the store.
    pub fn set_game_day(&self, game_day: GameDay) -> Result<(), StoreError> {
        self.store.save_game_day(&game_day)?;
        *self.game_day.lock().unwrap_or_else(PoisonError::into_inner) = Some(game_day);
        Ok(())
    }

    /// The participant's run going on, if any.
    pub fn active_run(&self, participant: &str) -> Option<String> {
        self.active()
            .get(participant)
            .map(|active| active.run.clone())
    }
}

//! The page chrome every lab page shows: who you are, the steps with their state, and your
//! progress.

use super::session::Session;
use crate::lab::LAB1;

/// What every page around the lab shows: who you are, the steps and your progress.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The participant's name.
    pub name: String,
    /// Their CSRF token, for the forms in the page.
    pub csrf: String,
    /// The steps, with their state.
    pub steps: Vec<StepLink>,
    /// Steps done.
    pub done: usize,
    /// Steps in all.
    pub total: usize,
}

/// A step in the step list.
#[derive(Debug, Clone)]
pub struct StepLink {
    /// Position, from 1.
    pub number: usize,
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Whether its check has passed.
    pub done: bool,
    /// Whether it is the step being shown.
    pub current: bool,
}

impl Chrome {
    /// The chrome for a session, with `current` highlighted.
    pub fn new(session: &Session, current: Option<&str>) -> Self {
        let completed = &session.participant.progress.completed;
        let steps: Vec<StepLink> = LAB1
            .iter()
            .map(|step| StepLink {
                number: step.number,
                id: step.id.clone(),
                title: step.title.clone(),
                done: completed.contains_key(&step.id),
                current: current == Some(step.id.as_str()),
            })
            .collect();
        Self {
            name: session.participant.name.clone(),
            csrf: session.csrf.clone(),
            done: steps.iter().filter(|step| step.done).count(),
            total: steps.len(),
            steps,
        }
    }
}

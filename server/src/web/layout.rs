//! The page chrome every lab page shows: who you are, the steps with their state, and your
//! progress.

use super::session::Session;
use crate::lab::{LABS, Lab, step};

/// What every page around the lab shows: who you are, the labs, the steps of the lab you are in
/// with their state, and your progress in it.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The participant's name.
    pub name: String,
    /// Their CSRF token, for the forms in the page.
    pub csrf: String,
    /// The lab the step list shows: the current step's, else the one last opened, else lab 1.
    pub lab: usize,
    /// That lab's title.
    pub lab_title: String,
    /// Every lab, with the participant's progress in it.
    pub labs: Vec<LabLink>,
    /// The shown lab's steps, with their state.
    pub steps: Vec<StepLink>,
    /// Steps done in the shown lab.
    pub done: usize,
    /// Steps in the shown lab.
    pub total: usize,
}

/// A lab in the list of labs.
#[derive(Debug, Clone)]
pub struct LabLink {
    /// Its number.
    pub number: usize,
    /// Its title.
    pub title: String,
    /// Where to go: its first step not done, else its first step.
    pub href: String,
    /// Steps done.
    pub done: usize,
    /// Steps in all.
    pub total: usize,
    /// Whether it is the lab shown.
    pub current: bool,
}

/// A step in the step list.
#[derive(Debug, Clone)]
pub struct StepLink {
    /// Position in its lab, from 1.
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
    /// The chrome for a session, with step `current` highlighted.
    pub fn new(session: &Session, current: Option<&str>) -> Self {
        let progress = &session.participant.progress;
        let completed = &progress.completed;
        let shown = current
            .or(progress.current_step.as_deref())
            .and_then(step)
            .map_or(1, |step| step.lab);
        let lab = LABS
            .iter()
            .find(|lab| lab.number == shown)
            .or_else(|| LABS.first());
        let steps: Vec<StepLink> = lab
            .map(|lab| lab.steps.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|step| StepLink {
                number: step.number,
                id: step.id.clone(),
                title: step.title.clone(),
                done: completed.contains_key(&step.id),
                current: current == Some(step.id.as_str()),
            })
            .collect();
        let labs = LABS
            .iter()
            .map(|each| LabLink {
                number: each.number,
                title: each.title.clone(),
                href: entry(each, completed),
                done: each.done_by(completed),
                total: each.steps.len(),
                current: lab.is_some_and(|lab| lab.number == each.number),
            })
            .collect();
        Self {
            name: session.participant.name.clone(),
            csrf: session.csrf.clone(),
            lab: lab.map_or(1, |lab| lab.number),
            lab_title: lab.map(|lab| lab.title.clone()).unwrap_or_default(),
            labs,
            done: steps.iter().filter(|step| step.done).count(),
            total: steps.len(),
            steps,
        }
    }
}

/// Where a lab is entered: its first step not done, else its first step.
pub fn entry(lab: &Lab, completed: &std::collections::BTreeMap<String, i64>) -> String {
    lab.steps
        .iter()
        .find(|step| !completed.contains_key(&step.id))
        .or_else(|| lab.first_step())
        .map_or_else(|| "/labs".to_owned(), |step| format!("/lab/{}", step.id))
}

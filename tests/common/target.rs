//! Which collector process is up, for clients that outlive the processes they talk to: its URL
//! and pid while it runs, nothing between a kill and the restart. Every change bumps a
//! generation, so a client can tell a failure of a process that was up throughout (a bug) from
//! one that a kill or a restart explains.

use std::sync::Mutex;

#[derive(Debug, Default)]
struct State {
    up: Option<(String, u32)>,
    generation: u64,
}

/// The collector the clients should talk to.
#[derive(Debug, Default)]
pub struct Target {
    state: Mutex<State>,
}

/// The collector that was up when a request started.
#[derive(Debug, Clone)]
pub struct Up {
    pub url: String,
    pub pid: u32,
    pub generation: u64,
}

impl Target {
    /// The process now up, if any.
    pub fn current(&self) -> Option<Up> {
        let state = self.state.lock().expect("lock");
        state.up.as_ref().map(|(url, pid)| Up {
            url: url.clone(),
            pid: *pid,
            generation: state.generation,
        })
    }

    /// A new process answers at `url`.
    pub fn up(&self, url: &str, pid: u32) {
        let mut state = self.state.lock().expect("lock");
        state.up = Some((url.to_owned(), pid));
        state.generation += 1;
    }

    /// The process is about to go away: clients wait until the next [`Target::up`].
    pub fn down(&self) {
        let mut state = self.state.lock().expect("lock");
        state.up = None;
        state.generation += 1;
    }

    /// Whether the process of `up` has been up all along since it was read.
    pub fn still(&self, up: &Up) -> bool {
        let state = self.state.lock().expect("lock");
        state.up.is_some() && state.generation == up.generation
    }
}

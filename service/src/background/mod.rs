//! Work that runs beside the server: the read-model sweeper and the simulated collection
//! runtime.

mod simulator;
mod sweeper;

pub use simulator::{spawn_simulator, SimulatorConfig};
pub use sweeper::{spawn_sweeper, sweep_once, SweeperMonitor, SweeperStatus};

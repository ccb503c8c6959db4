//! The live status page (feature `status-page`): Spark's Streaming tab for a
//! streamflow job, served over HTTP by
//! [`StreamingContext::status_page`](crate::live::StreamingContext::status_page).
//!
//! - `/`: timelines and histograms of input rate, scheduling delay,
//!   processing time and total delay (the batch interval drawn as a line), a
//!   stable/unstable verdict, the stage plan as a graph with each stage's
//!   recent time, and tables of active, completed and failed batches and of
//!   inputs and receivers. Server-side SVG; the page reloads itself.
//! - `/api/status`: the same data as JSON.
//! - `/metrics`: counters and gauges in the Prometheus text format.
//!
//! Its state is what a listener of its own hears on the bus, bounded (the
//! last 1000 batches); the live counters are read only when a request comes.

mod escape;
#[cfg(test)]
mod fixture;
mod history;
mod html;
mod json;
mod metrics;
mod plan_graph;
mod server;
mod stats;
mod status;
mod svg;

pub(super) use server::bind;

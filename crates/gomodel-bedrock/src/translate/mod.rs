//! Pure translations between the neutral types (`gomodel_core::chat`) and the Converse wire
//! types: [`request`] (neutral → Converse body), [`response`] (Converse answer → neutral),
//! [`stream`] (one event-stream message → one neutral event).

pub mod replay;
pub mod request;
pub mod response;
pub mod stream;
pub mod structured;

//! The bound of elements that an exchange may send to another process.

/// An element an exchange may send to another process: with the `cluster`
/// feature, a serde type (`Serialize + DeserializeOwned`), encoded with
/// postcard; without it, every type, so that a job that never runs on a
/// cluster asks nothing more of its elements and builds no network layer.
#[cfg(feature = "cluster")]
pub trait Wire: serde::Serialize + serde::de::DeserializeOwned {}
#[cfg(feature = "cluster")]
impl<T: serde::Serialize + serde::de::DeserializeOwned> Wire for T {}

/// An element an exchange may send to another process: with the `cluster`
/// feature, a serde type (`Serialize + DeserializeOwned`), encoded with
/// postcard; without it, every type, so that a job that never runs on a
/// cluster asks nothing more of its elements and builds no network layer.
#[cfg(not(feature = "cluster"))]
pub trait Wire {}
#[cfg(not(feature = "cluster"))]
impl<T: ?Sized> Wire for T {}

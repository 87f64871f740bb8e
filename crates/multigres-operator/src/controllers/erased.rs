//! One Kubernetes object as JSON, whatever its type: what `Desired::objects` of each controller
//! returns for `render` and the golden tests.

/// An object that serializes to JSON.
pub trait Object {
    /// The object as JSON (its own field order, as the API server and kubectl print it).
    fn json(&self) -> serde_json::Value;
}

impl<T: serde::Serialize> Object for T {
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("Kubernetes objects always serialize to JSON")
    }
}

//! The simulated kubelet and workload controllers.

pub mod availability;
pub mod container_status;
pub mod deployment;
pub mod node_lifecycle;
pub mod node_selection;
pub mod object_fields;
pub mod pod_ip;
pub mod pod_lifecycle;
pub mod pvc_binder;
pub mod qos;
pub mod scheduler;
pub mod sim_time;
pub mod statefulset;
pub mod template_hash;

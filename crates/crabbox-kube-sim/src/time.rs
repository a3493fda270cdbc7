//! Kubernetes object timestamps: whole-second RFC 3339 UTC.

pub fn now_rfc3339() -> String {
    crabbox_proto::time::format_rfc3339(crabbox_proto::time::now_unix())
}

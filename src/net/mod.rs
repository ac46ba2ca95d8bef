//! Network plumbing shared by every listener: the server TLS configuration (certificate
//! files or a generated self-signed one) and connection and rate limits.
pub mod limits;
pub mod tls;

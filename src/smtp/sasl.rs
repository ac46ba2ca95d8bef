//! SASL PLAIN (RFC 4616) and LOGIN decoding.

//! POP3 (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH): I/O-free command parsing and replies.

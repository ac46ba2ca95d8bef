//! SMTP replies: the one place that holds every text postern puts on the wire.

/// Enhanced status code (RFC 3463): class.subject.detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u8, pub u16, pub u16);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: Option<Status>,
    /// One entry per line; never contains CR or LF.
    pub lines: Vec<String>,
}

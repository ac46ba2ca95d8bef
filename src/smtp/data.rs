//! DATA reader (dot-unstuffing, strict CRLF.CRLF end) and the line checks shared with BDAT.

//! The default symbol catalogue.

//! Engine records as MetaApi wire shapes.

//! MetaApi wire types: serde shapes with camelCase names and MetaApi enum strings.

//! `wgq web`: the web page and its API.

pub mod assets;

//! floe flows as Parquet.

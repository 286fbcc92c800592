"""Market data storage: Parquet files for bars and ticks, an SQLite catalogue (no Qt)."""

"""The index the bot reads: chunk vectors and metadata in Chroma (embedded or a server),
and the SQLite FTS5 (BM25) index of the same chunks. Written by ingest, read by the bot."""

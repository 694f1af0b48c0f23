-- SQLite already compares text byte by byte (BINARY), which the region range
-- filter relies on; the migration exists so both databases share one history.
SELECT 1;

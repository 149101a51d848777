-- Look-ups of a page by the hash of its pixels, so that the writer can
-- tell a scan fed twice (under another name or in another batch) and store
-- it once.
CREATE INDEX idx_pages_content_hash ON pages(content_hash);

-- The embedded buckets' objects stay on disk (only the newest writes are in memory): the newest
-- write per stack is read at start-up, and the retention rule deletes by age.
CREATE INDEX pipeline_objects_by_age ON pipeline_objects (stack, last_modified_ms);

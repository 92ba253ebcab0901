-- AWS mode: which Terraform stack each participant was given. A stack serves one participant at
-- a time; removing the participant frees it.

CREATE TABLE aws_assignments (
    participant   TEXT PRIMARY KEY,
    -- The stack's key in `terraform output -json` (the Terraform participant id).
    stack         TEXT NOT NULL UNIQUE,
    assigned_ms   INTEGER NOT NULL,
    -- Accounting counts metrics from here: the assignment, or the last reset.
    counting_since_ms INTEGER NOT NULL
) WITHOUT ROWID;

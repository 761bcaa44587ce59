-- Migration: 20250128_130000_add_users_status_column
-- Description: Add a status column with a default and a CHECK constraint

-- UP
ALTER TABLE users
    ADD COLUMN status VARCHAR(20) NOT NULL DEFAULT 'active';

ALTER TABLE users
    ADD CONSTRAINT check_users_status
    CHECK (status IN ('active', 'suspended', 'deleted'));

-- DOWN
ALTER TABLE users DROP CONSTRAINT IF EXISTS check_users_status;
ALTER TABLE users DROP COLUMN IF EXISTS status;

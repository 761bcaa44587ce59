-- Migration: 20250128_120000_create_users_table
-- Description: Create users table with basic columns

-- UP
CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(255),
    created_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE INDEX idx_users_created_at ON users (created_at);

-- DOWN
DROP TABLE IF EXISTS users CASCADE;

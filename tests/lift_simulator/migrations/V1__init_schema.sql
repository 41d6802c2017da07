CREATE SCHEMA IF NOT EXISTS lift_simulator;
SET search_path TO lift_simulator;

CREATE TABLE lift_system (
    id BIGSERIAL PRIMARY KEY,
    system_key VARCHAR(120) NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    description TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX uq_lift_system_system_key ON lift_system (system_key);

CREATE TABLE lift_system_version (
    id BIGSERIAL PRIMARY KEY,
    lift_system_id BIGINT NOT NULL REFERENCES lift_system (id) ON DELETE CASCADE,
    version_number INTEGER NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'DRAFT',
    is_published BOOLEAN NOT NULL DEFAULT false,
    published_at TIMESTAMPTZ,
    config JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT chk_lift_system_version_status CHECK (status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED'))
);
CREATE UNIQUE INDEX uq_lift_system_version_number ON lift_system_version (lift_system_id, version_number);
CREATE INDEX idx_lift_system_version_status ON lift_system_version (status);
CREATE INDEX idx_lift_system_version_config ON lift_system_version USING GIN (config);
CREATE INDEX idx_lift_system_version_published ON lift_system_version (lift_system_id) WHERE is_published = true;

COMMENT ON SCHEMA lift_simulator IS 'Lift Config Service: lift systems and their versioned configurations';
COMMENT ON TABLE lift_system IS 'A lift system (building installation) whose configuration is versioned';
COMMENT ON COLUMN lift_system.system_key IS 'Stable business key of the lift system';
COMMENT ON COLUMN lift_system.display_name IS 'Name shown to users';
COMMENT ON COLUMN lift_system.description IS 'Free text description';
COMMENT ON TABLE lift_system_version IS 'One version of a lift system configuration';
COMMENT ON COLUMN lift_system_version.version_number IS 'Version number, unique per lift system';
COMMENT ON COLUMN lift_system_version.status IS 'DRAFT, PUBLISHED or ARCHIVED';
COMMENT ON COLUMN lift_system_version.is_published IS 'True for the version in use';
COMMENT ON COLUMN lift_system_version.config IS 'The configuration document (floors, lifts, controller)';

SET search_path TO lift_simulator;

ALTER TABLE lift_system_version ADD COLUMN lock_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE simulation_run ADD COLUMN lock_version BIGINT NOT NULL DEFAULT 0;

UPDATE lift_system_version SET is_published = false WHERE status <> 'PUBLISHED' AND is_published;

DROP INDEX IF EXISTS idx_lift_system_version_published;
CREATE UNIQUE INDEX uq_lift_system_version_single_published
    ON lift_system_version (lift_system_id) WHERE is_published = true;
COMMENT ON COLUMN lift_system_version.lock_version IS 'Optimistic locking version';
COMMENT ON COLUMN simulation_run.lock_version IS 'Optimistic locking version';

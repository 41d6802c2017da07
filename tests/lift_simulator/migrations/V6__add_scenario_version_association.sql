SET search_path TO lift_simulator;

ALTER TABLE scenario ADD COLUMN lift_system_version_id BIGINT;
ALTER TABLE scenario ADD CONSTRAINT fk_scenario_lift_system_version
    FOREIGN KEY (lift_system_version_id) REFERENCES lift_system_version (id) ON DELETE RESTRICT;
CREATE INDEX idx_scenario_version ON scenario (lift_system_version_id);
COMMENT ON COLUMN scenario.lift_system_version_id IS 'The lift system version the scenario is for';

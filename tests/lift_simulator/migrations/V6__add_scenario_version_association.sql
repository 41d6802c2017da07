SET search_path TO lift_simulator;

ALTER TABLE scenario ADD COLUMN lift_system_version_id BIGINT;
ALTER TABLE scenario ADD CONSTRAINT fk_scenario_lift_system_version
    FOREIGN KEY (lift_system_version_id) REFERENCES lift_system_version (id) ON DELETE RESTRICT;

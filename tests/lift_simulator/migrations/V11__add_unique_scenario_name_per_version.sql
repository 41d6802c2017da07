SET search_path TO lift_simulator;

ALTER TABLE scenario ADD CONSTRAINT uq_scenario_version_name UNIQUE (lift_system_version_id, name);

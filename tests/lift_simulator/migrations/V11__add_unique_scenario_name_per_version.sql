SET search_path TO lift_simulator;

DROP INDEX IF EXISTS idx_scenario_version;
CREATE UNIQUE INDEX uq_scenario_version_name ON scenario (lift_system_version_id, name);
COMMENT ON INDEX uq_scenario_version_name IS 'Scenario names are unique within a lift system version';

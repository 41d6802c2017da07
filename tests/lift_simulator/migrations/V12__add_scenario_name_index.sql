SET search_path TO lift_simulator;

CREATE INDEX idx_scenario_name ON scenario (name);
COMMENT ON COLUMN scenario.name IS 'Scenario name shown to users';
COMMENT ON INDEX idx_scenario_name IS 'Scenario look-up by name';

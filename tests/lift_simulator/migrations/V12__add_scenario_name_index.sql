SET search_path TO lift_simulator;

CREATE INDEX idx_scenario_name ON scenario (name);

SET search_path TO lift_simulator;

ALTER TABLE simulation_run ADD COLUMN scenario_id BIGINT;
ALTER TABLE simulation_run ADD CONSTRAINT fk_simulation_run_scenario
    FOREIGN KEY (scenario_id) REFERENCES scenario (id) ON DELETE CASCADE;
CREATE INDEX idx_simulation_run_scenario_id ON simulation_run (scenario_id);

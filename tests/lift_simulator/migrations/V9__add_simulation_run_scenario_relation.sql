SET search_path TO lift_simulator;

UPDATE simulation_run SET scenario_id = NULL WHERE scenario_id IS NOT NULL;
ALTER TABLE simulation_run ADD CONSTRAINT fk_simulation_run_scenario
    FOREIGN KEY (scenario_id) REFERENCES scenario (id) ON DELETE CASCADE;
CREATE INDEX IF NOT EXISTS idx_simulation_run_scenario ON simulation_run (scenario_id);
COMMENT ON COLUMN simulation_run.scenario_id IS 'The scenario the run simulates';

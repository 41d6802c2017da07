SET search_path TO lift_simulator;

CREATE TABLE simulation_scenario (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    scenario_json JSONB NOT NULL
);

CREATE TABLE simulation_run (
    id BIGSERIAL PRIMARY KEY,
    lift_system_id BIGINT NOT NULL REFERENCES lift_system (id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES lift_system_version (id) ON DELETE CASCADE,
    scenario_id BIGINT REFERENCES simulation_scenario (id) ON DELETE CASCADE,
    status VARCHAR(20) NOT NULL DEFAULT 'CREATED',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    total_ticks BIGINT,
    current_tick BIGINT DEFAULT 0,
    seed BIGINT,
    error_message TEXT,
    artefact_base_path VARCHAR(500),
    CONSTRAINT chk_simulation_run_status CHECK (status IN ('CREATED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'))
);
CREATE INDEX idx_simulation_run_lift_system ON simulation_run (lift_system_id);
CREATE INDEX idx_simulation_run_version ON simulation_run (version_id);
CREATE INDEX idx_simulation_run_scenario ON simulation_run (scenario_id);
CREATE INDEX idx_simulation_run_status ON simulation_run (status);
CREATE INDEX idx_simulation_run_created_at ON simulation_run (created_at DESC);

COMMENT ON TABLE simulation_run IS 'One run of the lift simulator';
COMMENT ON COLUMN simulation_run.status IS 'CREATED, RUNNING, SUCCEEDED, FAILED or CANCELLED';
COMMENT ON COLUMN simulation_run.total_ticks IS 'Ticks the run will take';
COMMENT ON COLUMN simulation_run.current_tick IS 'Ticks done so far';
COMMENT ON COLUMN simulation_run.artefact_base_path IS 'Where the run writes its results';

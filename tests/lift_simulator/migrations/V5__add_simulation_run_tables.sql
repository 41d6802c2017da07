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
CREATE INDEX idx_simulation_run_lift_system_id ON simulation_run (lift_system_id);
CREATE INDEX idx_simulation_run_version_id ON simulation_run (version_id);
CREATE INDEX idx_simulation_run_status ON simulation_run (status);
CREATE INDEX idx_simulation_run_created_at ON simulation_run (created_at DESC);

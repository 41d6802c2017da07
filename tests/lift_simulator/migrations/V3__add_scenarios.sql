SET search_path TO lift_simulator;

CREATE TABLE scenario (
    id BIGSERIAL PRIMARY KEY,
    scenario_json JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_scenario_json ON scenario USING GIN (scenario_json);

COMMENT ON TABLE scenario IS 'A passenger traffic scenario to simulate';
COMMENT ON COLUMN scenario.scenario_json IS 'The scenario document';

SET search_path TO lift_simulator;

CREATE OR REPLACE FUNCTION update_timestamp() RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER lift_system_update_timestamp BEFORE UPDATE ON lift_system
    FOR EACH ROW EXECUTE FUNCTION update_timestamp();
CREATE TRIGGER lift_system_version_update_timestamp BEFORE UPDATE ON lift_system_version
    FOR EACH ROW EXECUTE FUNCTION update_timestamp();
CREATE TRIGGER scenario_update_timestamp BEFORE UPDATE ON scenario
    FOR EACH ROW EXECUTE FUNCTION update_timestamp();

COMMENT ON FUNCTION update_timestamp() IS 'Sets updated_at on every update';
COMMENT ON TRIGGER lift_system_update_timestamp ON lift_system IS 'Keeps lift_system.updated_at current';
COMMENT ON TRIGGER lift_system_version_update_timestamp ON lift_system_version IS 'Keeps lift_system_version.updated_at current';
COMMENT ON TRIGGER scenario_update_timestamp ON scenario IS 'Keeps scenario.updated_at current';

SET search_path TO lift_simulator;

DELETE FROM scenario WHERE lift_system_version_id IS NULL;
ALTER TABLE scenario ALTER COLUMN lift_system_version_id SET NOT NULL;

SET search_path TO lift_simulator;

UPDATE lift_system_version
SET config = (config - 'floors') || jsonb_build_object('minFloor', 0, 'maxFloor', (config ->> 'floors')::int - 1)
WHERE config ? 'floors';

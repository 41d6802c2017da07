-- Seed data: a few lift systems, versions in every status, scenarios and runs.
-- Tricky values on purpose: quotes, backslashes, tabs, newlines, unicode and NULLs, so that the
-- COPY data and the restore oracle are tested on more than plain ASCII.
SET search_path TO lift_simulator;

INSERT INTO lift_system (system_key, display_name, description)
SELECT 'system-' || g,
       'Lift system ' || g,
       CASE g % 4 WHEN 0 THEN NULL
                  WHEN 1 THEN 'Tower "A"; it''s tall \ has a backslash'
                  WHEN 2 THEN E'Multi\nline\tdescription with tab'
                  ELSE 'Ünïcødé façade — 電梯 ' || g END
FROM generate_series(1, {systems}) AS g;

INSERT INTO lift_system_version (lift_system_id, version_number, status, is_published, published_at, config)
SELECT s.id, v,
       CASE WHEN v = 3 THEN 'PUBLISHED' WHEN v < 3 THEN 'ARCHIVED' ELSE 'DRAFT' END,
       v = 3,
       CASE WHEN v = 3 THEN now() - interval '1 day' END,
       jsonb_build_object('minFloor', 0, 'maxFloor', 5 + (s.id % 30), 'lifts', 1 + s.id % 4,
                          'controller', jsonb_build_object('strategy', 'NEAREST', 'idleFloor', 0),
                          'note', repeat('x', {padding}))
FROM lift_system s, generate_series(1, 4) AS v;

INSERT INTO scenario (scenario_json, name, lift_system_version_id)
SELECT jsonb_build_object('passengers', 10 + v.id % 50, 'ticks', 1000), 'Scenario ' || n, v.id
FROM lift_system_version v, generate_series(1, 2) AS n;

INSERT INTO simulation_run (lift_system_id, version_id, scenario_id, status, started_at, ended_at,
                            total_ticks, current_tick, seed, error_message, artefact_base_path)
SELECT v.lift_system_id, v.id, sc.id,
       (ARRAY['CREATED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'])[1 + sc.id % 5],
       now() - interval '2 hours', now() - interval '1 hour', 1000, 1000, sc.id * 7,
       CASE WHEN sc.id % 5 = 3 THEN 'Lift stuck between floors: ''door'' sensor' END,
       '/var/lib/lift/runs/' || sc.id
FROM scenario sc JOIN lift_system_version v ON v.id = sc.lift_system_version_id;

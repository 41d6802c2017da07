SET search_path TO lift_simulator;

ALTER TABLE scenario ADD COLUMN name VARCHAR(200);
UPDATE scenario SET name = 'Scenario ' || id WHERE name IS NULL;
ALTER TABLE scenario ALTER COLUMN name SET NOT NULL;

SET search_path TO lift_simulator;

DROP TABLE IF EXISTS simulation_scenario CASCADE;

--
-- PostgreSQL database dump
--

\restrict liftbackupsample

-- Dumped from database version 18.6
-- Dumped by pg_dump version 18.6

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: lift_simulator; Type: SCHEMA; Schema: -; Owner: lift_admin
--

CREATE SCHEMA lift_simulator;


ALTER SCHEMA lift_simulator OWNER TO lift_admin;

--
-- Name: SCHEMA lift_simulator; Type: COMMENT; Schema: -; Owner: lift_admin
--

COMMENT ON SCHEMA lift_simulator IS 'Lift Config Service: lift systems and their versioned configurations';


--
-- Name: update_timestamp(); Type: FUNCTION; Schema: lift_simulator; Owner: lift_admin
--

CREATE FUNCTION lift_simulator.update_timestamp() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;


ALTER FUNCTION lift_simulator.update_timestamp() OWNER TO lift_admin;

--
-- Name: FUNCTION update_timestamp(); Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON FUNCTION lift_simulator.update_timestamp() IS 'Sets updated_at on every update';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: flyway_schema_history; Type: TABLE; Schema: lift_simulator; Owner: lift_admin
--

CREATE TABLE lift_simulator.flyway_schema_history (
    installed_rank integer NOT NULL,
    version character varying(50),
    description character varying(200) NOT NULL,
    type character varying(20) NOT NULL,
    script character varying(1000) NOT NULL,
    checksum integer,
    installed_by character varying(100) NOT NULL,
    installed_on timestamp without time zone DEFAULT now() NOT NULL,
    execution_time integer NOT NULL,
    success boolean NOT NULL
);


ALTER TABLE lift_simulator.flyway_schema_history OWNER TO lift_admin;

--
-- Name: lift_system; Type: TABLE; Schema: lift_simulator; Owner: lift_admin
--

CREATE TABLE lift_simulator.lift_system (
    id bigint NOT NULL,
    system_key character varying(120) NOT NULL,
    display_name character varying(200) NOT NULL,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE lift_simulator.lift_system OWNER TO lift_admin;

--
-- Name: TABLE lift_system; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TABLE lift_simulator.lift_system IS 'A lift system (building installation) whose configuration is versioned';


--
-- Name: COLUMN lift_system.system_key; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system.system_key IS 'Stable business key of the lift system';


--
-- Name: COLUMN lift_system.display_name; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system.display_name IS 'Name shown to users';


--
-- Name: COLUMN lift_system.description; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system.description IS 'Free text description';


--
-- Name: lift_system_id_seq; Type: SEQUENCE; Schema: lift_simulator; Owner: lift_admin
--

CREATE SEQUENCE lift_simulator.lift_system_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER SEQUENCE lift_simulator.lift_system_id_seq OWNER TO lift_admin;

--
-- Name: lift_system_id_seq; Type: SEQUENCE OWNED BY; Schema: lift_simulator; Owner: lift_admin
--

ALTER SEQUENCE lift_simulator.lift_system_id_seq OWNED BY lift_simulator.lift_system.id;


--
-- Name: lift_system_version; Type: TABLE; Schema: lift_simulator; Owner: lift_admin
--

CREATE TABLE lift_simulator.lift_system_version (
    id bigint NOT NULL,
    lift_system_id bigint NOT NULL,
    version_number integer NOT NULL,
    status character varying(20) DEFAULT 'DRAFT'::character varying NOT NULL,
    is_published boolean DEFAULT false NOT NULL,
    published_at timestamp with time zone,
    config jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    lock_version bigint DEFAULT 0 NOT NULL,
    CONSTRAINT chk_lift_system_version_status CHECK (((status)::text = ANY ((ARRAY['DRAFT'::character varying, 'PUBLISHED'::character varying, 'ARCHIVED'::character varying])::text[])))
);


ALTER TABLE lift_simulator.lift_system_version OWNER TO lift_admin;

--
-- Name: TABLE lift_system_version; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TABLE lift_simulator.lift_system_version IS 'One version of a lift system configuration';


--
-- Name: COLUMN lift_system_version.version_number; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system_version.version_number IS 'Version number, unique per lift system';


--
-- Name: COLUMN lift_system_version.status; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system_version.status IS 'DRAFT, PUBLISHED or ARCHIVED';


--
-- Name: COLUMN lift_system_version.is_published; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system_version.is_published IS 'True for the version in use';


--
-- Name: COLUMN lift_system_version.config; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system_version.config IS 'The configuration document (floors, lifts, controller)';


--
-- Name: COLUMN lift_system_version.lock_version; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.lift_system_version.lock_version IS 'Optimistic locking version';


--
-- Name: lift_system_version_id_seq; Type: SEQUENCE; Schema: lift_simulator; Owner: lift_admin
--

CREATE SEQUENCE lift_simulator.lift_system_version_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER SEQUENCE lift_simulator.lift_system_version_id_seq OWNER TO lift_admin;

--
-- Name: lift_system_version_id_seq; Type: SEQUENCE OWNED BY; Schema: lift_simulator; Owner: lift_admin
--

ALTER SEQUENCE lift_simulator.lift_system_version_id_seq OWNED BY lift_simulator.lift_system_version.id;


--
-- Name: scenario; Type: TABLE; Schema: lift_simulator; Owner: lift_admin
--

CREATE TABLE lift_simulator.scenario (
    id bigint NOT NULL,
    scenario_json jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    name character varying(200) NOT NULL,
    lift_system_version_id bigint NOT NULL
);


ALTER TABLE lift_simulator.scenario OWNER TO lift_admin;

--
-- Name: TABLE scenario; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TABLE lift_simulator.scenario IS 'A passenger traffic scenario to simulate';


--
-- Name: COLUMN scenario.scenario_json; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.scenario.scenario_json IS 'The scenario document';


--
-- Name: COLUMN scenario.name; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.scenario.name IS 'Scenario name shown to users';


--
-- Name: COLUMN scenario.lift_system_version_id; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.scenario.lift_system_version_id IS 'The lift system version the scenario is for';


--
-- Name: scenario_id_seq; Type: SEQUENCE; Schema: lift_simulator; Owner: lift_admin
--

CREATE SEQUENCE lift_simulator.scenario_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER SEQUENCE lift_simulator.scenario_id_seq OWNER TO lift_admin;

--
-- Name: scenario_id_seq; Type: SEQUENCE OWNED BY; Schema: lift_simulator; Owner: lift_admin
--

ALTER SEQUENCE lift_simulator.scenario_id_seq OWNED BY lift_simulator.scenario.id;


--
-- Name: simulation_run; Type: TABLE; Schema: lift_simulator; Owner: lift_admin
--

CREATE TABLE lift_simulator.simulation_run (
    id bigint NOT NULL,
    lift_system_id bigint NOT NULL,
    version_id bigint NOT NULL,
    scenario_id bigint,
    status character varying(20) DEFAULT 'CREATED'::character varying NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    ended_at timestamp with time zone,
    total_ticks bigint,
    current_tick bigint DEFAULT 0,
    seed bigint,
    error_message text,
    artefact_base_path character varying(500),
    lock_version bigint DEFAULT 0 NOT NULL,
    CONSTRAINT chk_simulation_run_status CHECK (((status)::text = ANY ((ARRAY['CREATED'::character varying, 'RUNNING'::character varying, 'SUCCEEDED'::character varying, 'FAILED'::character varying, 'CANCELLED'::character varying])::text[])))
);


ALTER TABLE lift_simulator.simulation_run OWNER TO lift_admin;

--
-- Name: TABLE simulation_run; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TABLE lift_simulator.simulation_run IS 'One run of the lift simulator';


--
-- Name: COLUMN simulation_run.scenario_id; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.simulation_run.scenario_id IS 'The scenario the run simulates';


--
-- Name: COLUMN simulation_run.status; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.simulation_run.status IS 'CREATED, RUNNING, SUCCEEDED, FAILED or CANCELLED';


--
-- Name: COLUMN simulation_run.total_ticks; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.simulation_run.total_ticks IS 'Ticks the run will take';


--
-- Name: COLUMN simulation_run.current_tick; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.simulation_run.current_tick IS 'Ticks done so far';


--
-- Name: COLUMN simulation_run.artefact_base_path; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.simulation_run.artefact_base_path IS 'Where the run writes its results';


--
-- Name: COLUMN simulation_run.lock_version; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON COLUMN lift_simulator.simulation_run.lock_version IS 'Optimistic locking version';


--
-- Name: simulation_run_id_seq; Type: SEQUENCE; Schema: lift_simulator; Owner: lift_admin
--

CREATE SEQUENCE lift_simulator.simulation_run_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER SEQUENCE lift_simulator.simulation_run_id_seq OWNER TO lift_admin;

--
-- Name: simulation_run_id_seq; Type: SEQUENCE OWNED BY; Schema: lift_simulator; Owner: lift_admin
--

ALTER SEQUENCE lift_simulator.simulation_run_id_seq OWNED BY lift_simulator.simulation_run.id;


--
-- Name: lift_system id; Type: DEFAULT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.lift_system ALTER COLUMN id SET DEFAULT nextval('lift_simulator.lift_system_id_seq'::regclass);


--
-- Name: lift_system_version id; Type: DEFAULT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.lift_system_version ALTER COLUMN id SET DEFAULT nextval('lift_simulator.lift_system_version_id_seq'::regclass);


--
-- Name: scenario id; Type: DEFAULT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.scenario ALTER COLUMN id SET DEFAULT nextval('lift_simulator.scenario_id_seq'::regclass);


--
-- Name: simulation_run id; Type: DEFAULT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.simulation_run ALTER COLUMN id SET DEFAULT nextval('lift_simulator.simulation_run_id_seq'::regclass);


--
-- Data for Name: flyway_schema_history; Type: TABLE DATA; Schema: lift_simulator; Owner: lift_admin
--

COPY lift_simulator.flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_time, success) FROM stdin;
0	\N	<< Flyway Schema Creation >>	SCHEMA	"lift_simulator"	\N	lift_admin	2026-11-22 07:07:00.855846	0	t
1	1	init schema	SQL	V1__init_schema.sql	-134717861	lift_admin	2026-11-22 07:07:00.863079	5	t
2	2	migrate floor range config	SQL	V2__migrate_floor_range_config.sql	800402017	lift_admin	2026-11-22 07:07:00.864356	5	t
3	3	add scenarios	SQL	V3__add_scenarios.sql	1908361164	lift_admin	2026-11-22 07:07:00.866675	5	t
4	4	add scenario name	SQL	V4__add_scenario_name.sql	712918931	lift_admin	2026-11-22 07:07:00.867538	5	t
5	5	add simulation run tables	SQL	V5__add_simulation_run_tables.sql	1214593216	lift_admin	2026-11-22 07:07:00.873648	5	t
6	6	add scenario version association	SQL	V6__add_scenario_version_association.sql	-1399982180	lift_admin	2026-11-22 07:07:00.875617	5	t
7	7	enforce scenario version association	SQL	V7__enforce_scenario_version_association.sql	-226447794	lift_admin	2026-11-22 07:07:00.876505	5	t
8	8	drop legacy simulation scenario	SQL	V8__drop_legacy_simulation_scenario.sql	1653116624	lift_admin	2026-11-22 07:07:00.878175	5	t
9	9	add simulation run scenario relation	SQL	V9__add_simulation_run_scenario_relation.sql	-1036675992	lift_admin	2026-11-22 07:07:00.879405	5	t
10	10	add optimistic locking and published constraint	SQL	V10__add_optimistic_locking_and_published_constraint.sql	539987086	lift_admin	2026-11-22 07:07:00.88107	5	t
11	11	add unique scenario name per version	SQL	V11__add_unique_scenario_name_per_version.sql	-1934442221	lift_admin	2026-11-22 07:07:00.881967	5	t
12	12	add scenario name index	SQL	V12__add_scenario_name_index.sql	-414148903	lift_admin	2026-11-22 07:07:00.882817	5	t
13	13	add update timestamp triggers	SQL	V13__add_update_timestamp_triggers.sql	-1303361995	lift_admin	2026-11-22 07:07:00.884069	5	t
\.


--
-- Data for Name: lift_system; Type: TABLE DATA; Schema: lift_simulator; Owner: lift_admin
--

COPY lift_simulator.lift_system (id, system_key, display_name, description, created_at, updated_at) FROM stdin;
1	system-1	Lift system 1	Tower "A"; it's tall \\ has a backslash	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
2	system-2	Lift system 2	Multi\nline\tdescription with tab	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
3	system-3	Lift system 3	Ünïcødé façade — 電梯 3	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
4	system-4	Lift system 4	\N	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
5	system-5	Lift system 5	Tower "A"; it's tall \\ has a backslash	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
6	system-6	Lift system 6	Multi\nline\tdescription with tab	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
7	system-7	Lift system 7	Ünïcødé façade — 電梯 7	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
8	system-8	Lift system 8	\N	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
9	system-9	Lift system 9	Tower "A"; it's tall \\ has a backslash	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
10	system-10	Lift system 10	Multi\nline\tdescription with tab	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
11	system-11	Lift system 11	Ünïcødé façade — 電梯 11	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
12	system-12	Lift system 12	\N	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00
\.


--
-- Data for Name: lift_system_version; Type: TABLE DATA; Schema: lift_simulator; Owner: lift_admin
--

COPY lift_simulator.lift_system_version (id, lift_system_id, version_number, status, is_published, published_at, config, created_at, updated_at, lock_version) FROM stdin;
1	1	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 6, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
2	2	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 7, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
3	3	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 8, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
4	4	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 9, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
5	5	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 10, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
6	6	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 11, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
7	7	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 12, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
8	8	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 13, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
9	9	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 14, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
10	10	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 15, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
11	11	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 16, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
12	12	1	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 17, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
13	1	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 6, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
14	2	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 7, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
15	3	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 8, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
16	4	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 9, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
17	5	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 10, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
18	6	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 11, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
19	7	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 12, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
20	8	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 13, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
21	9	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 14, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
22	10	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 15, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
23	11	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 16, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
24	12	2	ARCHIVED	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 17, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
25	1	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 6, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
26	2	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 7, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
27	3	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 8, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
28	4	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 9, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
29	5	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 10, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
30	6	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 11, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
31	7	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 12, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
32	8	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 13, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
33	9	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 14, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
34	10	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 15, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
35	11	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 16, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
36	12	3	PUBLISHED	t	2026-11-21 07:07:00.884419+00	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 17, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
37	1	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 6, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
38	2	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 7, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
39	3	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 8, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
40	4	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 9, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
41	5	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 10, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
42	6	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 11, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
43	7	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 12, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
44	8	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 13, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
45	9	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 2, "maxFloor": 14, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
46	10	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 3, "maxFloor": 15, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
47	11	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 4, "maxFloor": 16, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
48	12	4	DRAFT	f	\N	{"note": "xxxxxxxxxxxxxxxxxxxx", "lifts": 1, "maxFloor": 17, "minFloor": 0, "controller": {"strategy": "NEAREST", "idleFloor": 0}}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	0
\.


--
-- Data for Name: scenario; Type: TABLE DATA; Schema: lift_simulator; Owner: lift_admin
--

COPY lift_simulator.scenario (id, scenario_json, created_at, updated_at, name, lift_system_version_id) FROM stdin;
1	{"ticks": 1000, "passengers": 11}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	1
2	{"ticks": 1000, "passengers": 12}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	2
3	{"ticks": 1000, "passengers": 13}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	3
4	{"ticks": 1000, "passengers": 14}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	4
5	{"ticks": 1000, "passengers": 15}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	5
6	{"ticks": 1000, "passengers": 16}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	6
7	{"ticks": 1000, "passengers": 17}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	7
8	{"ticks": 1000, "passengers": 18}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	8
9	{"ticks": 1000, "passengers": 19}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	9
10	{"ticks": 1000, "passengers": 20}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	10
11	{"ticks": 1000, "passengers": 21}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	11
12	{"ticks": 1000, "passengers": 22}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	12
13	{"ticks": 1000, "passengers": 23}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	13
14	{"ticks": 1000, "passengers": 24}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	14
15	{"ticks": 1000, "passengers": 25}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	15
16	{"ticks": 1000, "passengers": 26}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	16
17	{"ticks": 1000, "passengers": 27}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	17
18	{"ticks": 1000, "passengers": 28}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	18
19	{"ticks": 1000, "passengers": 29}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	19
20	{"ticks": 1000, "passengers": 30}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	20
21	{"ticks": 1000, "passengers": 31}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	21
22	{"ticks": 1000, "passengers": 32}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	22
23	{"ticks": 1000, "passengers": 33}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	23
24	{"ticks": 1000, "passengers": 34}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	24
25	{"ticks": 1000, "passengers": 35}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	25
26	{"ticks": 1000, "passengers": 36}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	26
27	{"ticks": 1000, "passengers": 37}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	27
28	{"ticks": 1000, "passengers": 38}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	28
29	{"ticks": 1000, "passengers": 39}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	29
30	{"ticks": 1000, "passengers": 40}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	30
31	{"ticks": 1000, "passengers": 41}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	31
32	{"ticks": 1000, "passengers": 42}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	32
33	{"ticks": 1000, "passengers": 43}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	33
34	{"ticks": 1000, "passengers": 44}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	34
35	{"ticks": 1000, "passengers": 45}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	35
36	{"ticks": 1000, "passengers": 46}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	36
37	{"ticks": 1000, "passengers": 47}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	37
38	{"ticks": 1000, "passengers": 48}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	38
39	{"ticks": 1000, "passengers": 49}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	39
40	{"ticks": 1000, "passengers": 50}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	40
41	{"ticks": 1000, "passengers": 51}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	41
42	{"ticks": 1000, "passengers": 52}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	42
43	{"ticks": 1000, "passengers": 53}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	43
44	{"ticks": 1000, "passengers": 54}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	44
45	{"ticks": 1000, "passengers": 55}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	45
46	{"ticks": 1000, "passengers": 56}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	46
47	{"ticks": 1000, "passengers": 57}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	47
48	{"ticks": 1000, "passengers": 58}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 1	48
49	{"ticks": 1000, "passengers": 11}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	1
50	{"ticks": 1000, "passengers": 12}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	2
51	{"ticks": 1000, "passengers": 13}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	3
52	{"ticks": 1000, "passengers": 14}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	4
53	{"ticks": 1000, "passengers": 15}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	5
54	{"ticks": 1000, "passengers": 16}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	6
55	{"ticks": 1000, "passengers": 17}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	7
56	{"ticks": 1000, "passengers": 18}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	8
57	{"ticks": 1000, "passengers": 19}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	9
58	{"ticks": 1000, "passengers": 20}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	10
59	{"ticks": 1000, "passengers": 21}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	11
60	{"ticks": 1000, "passengers": 22}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	12
61	{"ticks": 1000, "passengers": 23}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	13
62	{"ticks": 1000, "passengers": 24}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	14
63	{"ticks": 1000, "passengers": 25}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	15
64	{"ticks": 1000, "passengers": 26}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	16
65	{"ticks": 1000, "passengers": 27}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	17
66	{"ticks": 1000, "passengers": 28}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	18
67	{"ticks": 1000, "passengers": 29}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	19
68	{"ticks": 1000, "passengers": 30}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	20
69	{"ticks": 1000, "passengers": 31}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	21
70	{"ticks": 1000, "passengers": 32}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	22
71	{"ticks": 1000, "passengers": 33}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	23
72	{"ticks": 1000, "passengers": 34}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	24
73	{"ticks": 1000, "passengers": 35}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	25
74	{"ticks": 1000, "passengers": 36}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	26
75	{"ticks": 1000, "passengers": 37}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	27
76	{"ticks": 1000, "passengers": 38}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	28
77	{"ticks": 1000, "passengers": 39}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	29
78	{"ticks": 1000, "passengers": 40}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	30
79	{"ticks": 1000, "passengers": 41}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	31
80	{"ticks": 1000, "passengers": 42}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	32
81	{"ticks": 1000, "passengers": 43}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	33
82	{"ticks": 1000, "passengers": 44}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	34
83	{"ticks": 1000, "passengers": 45}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	35
84	{"ticks": 1000, "passengers": 46}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	36
85	{"ticks": 1000, "passengers": 47}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	37
86	{"ticks": 1000, "passengers": 48}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	38
87	{"ticks": 1000, "passengers": 49}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	39
88	{"ticks": 1000, "passengers": 50}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	40
89	{"ticks": 1000, "passengers": 51}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	41
90	{"ticks": 1000, "passengers": 52}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	42
91	{"ticks": 1000, "passengers": 53}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	43
92	{"ticks": 1000, "passengers": 54}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	44
93	{"ticks": 1000, "passengers": 55}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	45
94	{"ticks": 1000, "passengers": 56}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	46
95	{"ticks": 1000, "passengers": 57}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	47
96	{"ticks": 1000, "passengers": 58}	2026-11-22 07:07:00.884419+00	2026-11-22 07:07:00.884419+00	Scenario 2	48
\.


--
-- Data for Name: simulation_run; Type: TABLE DATA; Schema: lift_simulator; Owner: lift_admin
--

COPY lift_simulator.simulation_run (id, lift_system_id, version_id, scenario_id, status, created_at, started_at, ended_at, total_ticks, current_tick, seed, error_message, artefact_base_path, lock_version) FROM stdin;
1	1	1	49	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	343	\N	/var/lib/lift/runs/49	0
2	1	1	1	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	7	\N	/var/lib/lift/runs/1	0
3	2	2	50	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	350	\N	/var/lib/lift/runs/50	0
4	2	2	2	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	14	\N	/var/lib/lift/runs/2	0
5	3	3	51	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	357	\N	/var/lib/lift/runs/51	0
6	3	3	3	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	21	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/3	0
7	4	4	52	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	364	\N	/var/lib/lift/runs/52	0
8	4	4	4	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	28	\N	/var/lib/lift/runs/4	0
9	5	5	53	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	371	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/53	0
10	5	5	5	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	35	\N	/var/lib/lift/runs/5	0
11	6	6	54	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	378	\N	/var/lib/lift/runs/54	0
12	6	6	6	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	42	\N	/var/lib/lift/runs/6	0
13	7	7	55	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	385	\N	/var/lib/lift/runs/55	0
14	7	7	7	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	49	\N	/var/lib/lift/runs/7	0
15	8	8	56	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	392	\N	/var/lib/lift/runs/56	0
16	8	8	8	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	56	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/8	0
17	9	9	57	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	399	\N	/var/lib/lift/runs/57	0
18	9	9	9	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	63	\N	/var/lib/lift/runs/9	0
19	10	10	58	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	406	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/58	0
20	10	10	10	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	70	\N	/var/lib/lift/runs/10	0
21	11	11	59	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	413	\N	/var/lib/lift/runs/59	0
22	11	11	11	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	77	\N	/var/lib/lift/runs/11	0
23	12	12	60	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	420	\N	/var/lib/lift/runs/60	0
24	12	12	12	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	84	\N	/var/lib/lift/runs/12	0
25	1	13	61	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	427	\N	/var/lib/lift/runs/61	0
26	1	13	13	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	91	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/13	0
27	2	14	62	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	434	\N	/var/lib/lift/runs/62	0
28	2	14	14	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	98	\N	/var/lib/lift/runs/14	0
29	3	15	63	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	441	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/63	0
30	3	15	15	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	105	\N	/var/lib/lift/runs/15	0
31	4	16	64	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	448	\N	/var/lib/lift/runs/64	0
32	4	16	16	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	112	\N	/var/lib/lift/runs/16	0
33	5	17	65	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	455	\N	/var/lib/lift/runs/65	0
34	5	17	17	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	119	\N	/var/lib/lift/runs/17	0
35	6	18	66	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	462	\N	/var/lib/lift/runs/66	0
36	6	18	18	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	126	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/18	0
37	7	19	67	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	469	\N	/var/lib/lift/runs/67	0
38	7	19	19	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	133	\N	/var/lib/lift/runs/19	0
39	8	20	68	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	476	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/68	0
40	8	20	20	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	140	\N	/var/lib/lift/runs/20	0
41	9	21	69	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	483	\N	/var/lib/lift/runs/69	0
42	9	21	21	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	147	\N	/var/lib/lift/runs/21	0
43	10	22	70	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	490	\N	/var/lib/lift/runs/70	0
44	10	22	22	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	154	\N	/var/lib/lift/runs/22	0
45	11	23	71	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	497	\N	/var/lib/lift/runs/71	0
46	11	23	23	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	161	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/23	0
47	12	24	72	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	504	\N	/var/lib/lift/runs/72	0
48	12	24	24	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	168	\N	/var/lib/lift/runs/24	0
49	1	25	73	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	511	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/73	0
50	1	25	25	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	175	\N	/var/lib/lift/runs/25	0
51	2	26	74	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	518	\N	/var/lib/lift/runs/74	0
52	2	26	26	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	182	\N	/var/lib/lift/runs/26	0
53	3	27	75	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	525	\N	/var/lib/lift/runs/75	0
54	3	27	27	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	189	\N	/var/lib/lift/runs/27	0
55	4	28	76	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	532	\N	/var/lib/lift/runs/76	0
56	4	28	28	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	196	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/28	0
57	5	29	77	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	539	\N	/var/lib/lift/runs/77	0
58	5	29	29	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	203	\N	/var/lib/lift/runs/29	0
59	6	30	78	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	546	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/78	0
60	6	30	30	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	210	\N	/var/lib/lift/runs/30	0
61	7	31	79	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	553	\N	/var/lib/lift/runs/79	0
62	7	31	31	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	217	\N	/var/lib/lift/runs/31	0
63	8	32	80	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	560	\N	/var/lib/lift/runs/80	0
64	8	32	32	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	224	\N	/var/lib/lift/runs/32	0
65	9	33	81	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	567	\N	/var/lib/lift/runs/81	0
66	9	33	33	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	231	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/33	0
67	10	34	82	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	574	\N	/var/lib/lift/runs/82	0
68	10	34	34	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	238	\N	/var/lib/lift/runs/34	0
69	11	35	83	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	581	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/83	0
70	11	35	35	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	245	\N	/var/lib/lift/runs/35	0
71	12	36	84	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	588	\N	/var/lib/lift/runs/84	0
72	12	36	36	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	252	\N	/var/lib/lift/runs/36	0
73	1	37	85	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	595	\N	/var/lib/lift/runs/85	0
74	1	37	37	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	259	\N	/var/lib/lift/runs/37	0
75	2	38	86	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	602	\N	/var/lib/lift/runs/86	0
76	2	38	38	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	266	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/38	0
77	3	39	87	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	609	\N	/var/lib/lift/runs/87	0
78	3	39	39	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	273	\N	/var/lib/lift/runs/39	0
79	4	40	88	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	616	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/88	0
80	4	40	40	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	280	\N	/var/lib/lift/runs/40	0
81	5	41	89	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	623	\N	/var/lib/lift/runs/89	0
82	5	41	41	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	287	\N	/var/lib/lift/runs/41	0
83	6	42	90	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	630	\N	/var/lib/lift/runs/90	0
84	6	42	42	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	294	\N	/var/lib/lift/runs/42	0
85	7	43	91	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	637	\N	/var/lib/lift/runs/91	0
86	7	43	43	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	301	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/43	0
87	8	44	92	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	644	\N	/var/lib/lift/runs/92	0
88	8	44	44	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	308	\N	/var/lib/lift/runs/44	0
89	9	45	93	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	651	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/93	0
90	9	45	45	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	315	\N	/var/lib/lift/runs/45	0
91	10	46	94	CANCELLED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	658	\N	/var/lib/lift/runs/94	0
92	10	46	46	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	322	\N	/var/lib/lift/runs/46	0
93	11	47	95	CREATED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	665	\N	/var/lib/lift/runs/95	0
94	11	47	47	SUCCEEDED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	329	\N	/var/lib/lift/runs/47	0
95	12	48	96	RUNNING	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	672	\N	/var/lib/lift/runs/96	0
96	12	48	48	FAILED	2026-11-22 07:07:00.884419+00	2026-11-22 05:07:00.884419+00	2026-11-22 06:07:00.884419+00	1000	1000	336	Lift stuck between floors: 'door' sensor	/var/lib/lift/runs/48	0
\.


--
-- Name: lift_system_id_seq; Type: SEQUENCE SET; Schema: lift_simulator; Owner: lift_admin
--

SELECT pg_catalog.setval('lift_simulator.lift_system_id_seq', 12, true);


--
-- Name: lift_system_version_id_seq; Type: SEQUENCE SET; Schema: lift_simulator; Owner: lift_admin
--

SELECT pg_catalog.setval('lift_simulator.lift_system_version_id_seq', 48, true);


--
-- Name: scenario_id_seq; Type: SEQUENCE SET; Schema: lift_simulator; Owner: lift_admin
--

SELECT pg_catalog.setval('lift_simulator.scenario_id_seq', 96, true);


--
-- Name: simulation_run_id_seq; Type: SEQUENCE SET; Schema: lift_simulator; Owner: lift_admin
--

SELECT pg_catalog.setval('lift_simulator.simulation_run_id_seq', 96, true);


--
-- Name: flyway_schema_history flyway_schema_history_pk; Type: CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.flyway_schema_history
    ADD CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank);


--
-- Name: lift_system lift_system_pkey; Type: CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.lift_system
    ADD CONSTRAINT lift_system_pkey PRIMARY KEY (id);


--
-- Name: lift_system_version lift_system_version_pkey; Type: CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.lift_system_version
    ADD CONSTRAINT lift_system_version_pkey PRIMARY KEY (id);


--
-- Name: scenario scenario_pkey; Type: CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.scenario
    ADD CONSTRAINT scenario_pkey PRIMARY KEY (id);


--
-- Name: simulation_run simulation_run_pkey; Type: CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.simulation_run
    ADD CONSTRAINT simulation_run_pkey PRIMARY KEY (id);


--
-- Name: flyway_schema_history_s_idx; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX flyway_schema_history_s_idx ON lift_simulator.flyway_schema_history USING btree (success);


--
-- Name: idx_lift_system_version_config; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_lift_system_version_config ON lift_simulator.lift_system_version USING gin (config);


--
-- Name: idx_lift_system_version_status; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_lift_system_version_status ON lift_simulator.lift_system_version USING btree (status);


--
-- Name: idx_scenario_json; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_scenario_json ON lift_simulator.scenario USING gin (scenario_json);


--
-- Name: idx_scenario_name; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_scenario_name ON lift_simulator.scenario USING btree (name);


--
-- Name: INDEX idx_scenario_name; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON INDEX lift_simulator.idx_scenario_name IS 'Scenario look-up by name';


--
-- Name: idx_simulation_run_created_at; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_simulation_run_created_at ON lift_simulator.simulation_run USING btree (created_at DESC);


--
-- Name: idx_simulation_run_lift_system; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_simulation_run_lift_system ON lift_simulator.simulation_run USING btree (lift_system_id);


--
-- Name: idx_simulation_run_scenario; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_simulation_run_scenario ON lift_simulator.simulation_run USING btree (scenario_id);


--
-- Name: idx_simulation_run_status; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_simulation_run_status ON lift_simulator.simulation_run USING btree (status);


--
-- Name: idx_simulation_run_version; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE INDEX idx_simulation_run_version ON lift_simulator.simulation_run USING btree (version_id);


--
-- Name: uq_lift_system_system_key; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE UNIQUE INDEX uq_lift_system_system_key ON lift_simulator.lift_system USING btree (system_key);


--
-- Name: uq_lift_system_version_number; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE UNIQUE INDEX uq_lift_system_version_number ON lift_simulator.lift_system_version USING btree (lift_system_id, version_number);


--
-- Name: uq_lift_system_version_single_published; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE UNIQUE INDEX uq_lift_system_version_single_published ON lift_simulator.lift_system_version USING btree (lift_system_id) WHERE (is_published = true);


--
-- Name: uq_scenario_version_name; Type: INDEX; Schema: lift_simulator; Owner: lift_admin
--

CREATE UNIQUE INDEX uq_scenario_version_name ON lift_simulator.scenario USING btree (lift_system_version_id, name);


--
-- Name: INDEX uq_scenario_version_name; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON INDEX lift_simulator.uq_scenario_version_name IS 'Scenario names are unique within a lift system version';


--
-- Name: lift_system lift_system_update_timestamp; Type: TRIGGER; Schema: lift_simulator; Owner: lift_admin
--

CREATE TRIGGER lift_system_update_timestamp BEFORE UPDATE ON lift_simulator.lift_system FOR EACH ROW EXECUTE FUNCTION lift_simulator.update_timestamp();


--
-- Name: TRIGGER lift_system_update_timestamp ON lift_system; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TRIGGER lift_system_update_timestamp ON lift_simulator.lift_system IS 'Keeps lift_system.updated_at current';


--
-- Name: lift_system_version lift_system_version_update_timestamp; Type: TRIGGER; Schema: lift_simulator; Owner: lift_admin
--

CREATE TRIGGER lift_system_version_update_timestamp BEFORE UPDATE ON lift_simulator.lift_system_version FOR EACH ROW EXECUTE FUNCTION lift_simulator.update_timestamp();


--
-- Name: TRIGGER lift_system_version_update_timestamp ON lift_system_version; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TRIGGER lift_system_version_update_timestamp ON lift_simulator.lift_system_version IS 'Keeps lift_system_version.updated_at current';


--
-- Name: scenario scenario_update_timestamp; Type: TRIGGER; Schema: lift_simulator; Owner: lift_admin
--

CREATE TRIGGER scenario_update_timestamp BEFORE UPDATE ON lift_simulator.scenario FOR EACH ROW EXECUTE FUNCTION lift_simulator.update_timestamp();


--
-- Name: TRIGGER scenario_update_timestamp ON scenario; Type: COMMENT; Schema: lift_simulator; Owner: lift_admin
--

COMMENT ON TRIGGER scenario_update_timestamp ON lift_simulator.scenario IS 'Keeps scenario.updated_at current';


--
-- Name: scenario fk_scenario_lift_system_version; Type: FK CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.scenario
    ADD CONSTRAINT fk_scenario_lift_system_version FOREIGN KEY (lift_system_version_id) REFERENCES lift_simulator.lift_system_version(id) ON DELETE RESTRICT;


--
-- Name: simulation_run fk_simulation_run_scenario; Type: FK CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.simulation_run
    ADD CONSTRAINT fk_simulation_run_scenario FOREIGN KEY (scenario_id) REFERENCES lift_simulator.scenario(id) ON DELETE CASCADE;


--
-- Name: lift_system_version lift_system_version_lift_system_id_fkey; Type: FK CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.lift_system_version
    ADD CONSTRAINT lift_system_version_lift_system_id_fkey FOREIGN KEY (lift_system_id) REFERENCES lift_simulator.lift_system(id) ON DELETE CASCADE;


--
-- Name: simulation_run simulation_run_lift_system_id_fkey; Type: FK CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.simulation_run
    ADD CONSTRAINT simulation_run_lift_system_id_fkey FOREIGN KEY (lift_system_id) REFERENCES lift_simulator.lift_system(id) ON DELETE CASCADE;


--
-- Name: simulation_run simulation_run_version_id_fkey; Type: FK CONSTRAINT; Schema: lift_simulator; Owner: lift_admin
--

ALTER TABLE ONLY lift_simulator.simulation_run
    ADD CONSTRAINT simulation_run_version_id_fkey FOREIGN KEY (version_id) REFERENCES lift_simulator.lift_system_version(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict liftbackupsample


-- A schema dense with constraints: composite keys, self-references, enum and domain types, CHECKs across
-- columns, partial unique indexes, a trigger and a generated column.
CREATE TYPE severity AS ENUM ('low', 'medium', 'high', 'critical');
CREATE DOMAIN percent AS numeric(5, 2) CHECK (VALUE >= 0 AND VALUE <= 100);
CREATE DOMAIN short_code AS varchar(12) CHECK (char_length(VALUE) >= 3);
CREATE DOMAIN ean13 AS text CHECK (VALUE ~ '^[0-9]{13}$');
CREATE DOMAIN label_text AS text NOT NULL CHECK (VALUE <> '');

CREATE TABLE departments (
    id integer PRIMARY KEY CHECK (id > 0),
    code short_code NOT NULL UNIQUE,
    parent_id integer REFERENCES departments (id),
    budget numeric(14, 2) NOT NULL CHECK (budget >= 0),
    CHECK (parent_id <> id)
);

CREATE TABLE employees (
    id bigint PRIMARY KEY,
    department_id integer NOT NULL REFERENCES departments (id),
    manager_id bigint REFERENCES employees (id),
    badge ean13 NOT NULL UNIQUE,
    email varchar(80) NOT NULL,
    salary numeric(10, 2) NOT NULL CHECK (salary > 0),
    bonus_pct percent NOT NULL DEFAULT 0,
    hired_on date NOT NULL,
    left_on date,
    active boolean NOT NULL DEFAULT true,
    CHECK (left_on > hired_on),
    CHECK (manager_id <> id)
);
CREATE UNIQUE INDEX employees_active_email ON employees (email) WHERE active;

CREATE TABLE projects (
    department_id integer NOT NULL REFERENCES departments (id),
    number integer NOT NULL CHECK (number > 0),
    title varchar(120) NOT NULL CHECK (char_length(title) >= 2),
    risk severity NOT NULL,
    min_staff smallint NOT NULL CHECK (min_staff >= 1),
    max_staff smallint NOT NULL,
    starts_on date NOT NULL,
    ends_on date,
    label label_text,
    notes text CHECK (notes IS NOT NULL),
    PRIMARY KEY (department_id, number),
    CHECK (max_staff >= min_staff),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE incidents (
    id uuid PRIMARY KEY,
    department_id integer NOT NULL,
    project_number integer NOT NULL,
    reported_by bigint NOT NULL REFERENCES employees (id),
    duplicate_of uuid REFERENCES incidents (id),
    level severity NOT NULL,
    summary text NOT NULL CHECK (summary <> ''),
    labels text[] NOT NULL,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz,
    reopen_count integer NOT NULL DEFAULT 0 CHECK (reopen_count BETWEEN 0 AND 10),
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple', summary)) STORED,
    touched_at timestamptz,
    FOREIGN KEY (department_id, project_number) REFERENCES projects (department_id, number),
    CHECK (closed_at >= opened_at),
    CHECK (duplicate_of <> id)
);
CREATE UNIQUE INDEX incidents_one_open_critical ON incidents (department_id, project_number, id)
    WHERE level = 'critical' AND closed_at IS NULL;

CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.touched_at := current_setting('growth_sim.now', true)::timestamptz;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_touch BEFORE UPDATE ON incidents FOR EACH ROW EXECUTE FUNCTION touch();

-- A many-to-many table: its key is the pair of parents.
CREATE TABLE incident_watchers (
    incident_id uuid NOT NULL REFERENCES incidents (id),
    employee_id bigint NOT NULL REFERENCES employees (id),
    since timestamptz NOT NULL,
    PRIMARY KEY (incident_id, employee_id)
);

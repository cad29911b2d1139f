-- =============================================================================
-- TaskPilot application schema, as the application would run it
-- =============================================================================
--
-- What this is
--   The schema of TaskPilot, the issue tracker whose growth growth-sim simulates
--   (see ../shared/reference/taskpilot.md, sections 1 and 2). The baseline is the
--   upstream initial migration: its 9 enums, its 16 tables and their 70 indexes
--   (16 primary keys, 11 unique constraints, 43 named secondary indexes), its
--   updated_at triggers on 8 tables. Four tables read by the background jobs of
--   the read mix are added at the end.
--
--   growth-sim applies this file in ONE transaction into an empty database; the
--   file carries no BEGIN/COMMIT of its own. The tool creates the measuring
--   extensions (pgstattuple, pg_stat_statements) itself. No data, no grants, no
--   monitoring role.
--
-- Simulated clock
--   Every timestamp the database writes by itself (column defaults, the
--   updated_at trigger) comes from app_now(), which returns the session setting
--   growth_sim.now when it is set and now() otherwise.
--
-- Defects of the upstream migration that are FIXED here
--   * api_tokens.scopes: the published default was quoted twice, so the array
--     literal kept its own quotes ("malformed array literal") and the whole
--     migration rolled back. Here it is '{read}'::text[].
--   * The schema document's partial indexes whose predicates call NOW()
--     (idx_activity_log_recent, idx_api_tokens_active) are invalid DDL; they are
--     left out, as are all other indexes that only the schema document has.
--   * uuid-ossp's uuid_generate_v4() is replaced by core gen_random_uuid()
--     (same random v4 UUIDs, so every UUID b-tree still takes random inserts).
--   * The enums and update_updated_at_column(), which the migration assumed
--     from init.sql, are created here.
--
-- PLANTED FLAWS KEPT on purpose (they are what health checks should find)
--   * No composite index for the board query (project_id = ? AND status = ?
--     AND archived_at IS NULL ORDER BY sort_order): there is no index on issues
--     leading with (project_id, status, sort_order) and no partial index on
--     archived_at IS NULL. idx_issues_status (project_id, status) needs a sort,
--     idx_issues_sort_order (project_id, sort_order) needs a filter.
--   * idx_issues_created_at is (project_id, created_at DESC): wrong column order
--     for the queries that filter on created_at alone (SLA check), so unused.
--   * Left-prefix-redundant indexes (each one is a leading prefix of another
--     index on the same table):
--       idx_users_organization_id        (users_email_org_unique, users_username_org_unique)
--       idx_teams_organization_id        (teams_slug_org_unique)
--       idx_team_members_team_id         (team_members_unique)
--       idx_projects_organization_id     (projects_key_org_unique, idx_projects_status)
--       idx_cycles_project_id            (cycles_number_project_unique, idx_cycles_status)
--       idx_labels_project_id            (labels_name_project_unique)
--       idx_issues_project_id            (issues_number_project_unique, idx_issues_status,
--                                         idx_issues_priority, idx_issues_created_at,
--                                         idx_issues_sort_order)
--       idx_issue_labels_issue_id        (issue_labels_pkey)
--       idx_issue_links_source           (issue_links_unique)
--       idx_comments_issue_id            (idx_comments_created_at)
--       idx_activity_log_organization_id (idx_activity_log_created_at)
--       idx_notifications_user_id        (idx_notifications_unread, idx_notifications_created_at)
--   * Exact duplicate indexes:
--       idx_organizations_slug    = organizations_slug_key
--       idx_api_tokens_token_hash = api_tokens_token_hash_key
--   * update_issues_updated_at stamps issues.updated_at on every UPDATE, and
--     updated_at is indexed (idx_issues_updated_at), so no issues UPDATE is ever
--     HOT: each status/priority/assignee/comment_count change writes new entries
--     into all 13 issues indexes. Default fillfactor (100) everywhere.
--   * read_at is in the predicate of idx_notifications_unread, so marking a
--     notification as read is never a HOT update.
--   * Foreign keys without a supporting index:
--       projects.lead_id, labels.parent_id, issues.parent_id,
--       issue_links.created_by_id, comments.parent_id, attachments.user_id,
--       attachments.comment_id, activity_log.user_id, notifications.issue_id,
--       notifications.comment_id, notifications.actor_id;
--     and, in the added tables, sla_status.policy_id and
--     recurring_issue_configs.created_by_id.
--   * No per-table autovacuum tuning (no reloptions on any table).
--   * activity_log is a single unpartitioned, insert-only table with no
--     retention (the documented monthly-partitioning candidate).
--   * Denormalised counters (issues.comment_count, attachment_count,
--     sub_issue_count, projects.issue_count, cycles counters) with no trigger to
--     maintain them: the writer keeps them, as the application would.
--
-- Not included on purpose
--   The schema document's extra indexes, its set_issue_number and comment-count
--   triggers (the writer supplies issues.number and maintains comment_count) and
--   its v_organization_stats view.
-- =============================================================================

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- -----------------------------------------------------------------------------
-- Enums (values in the upstream order)
-- -----------------------------------------------------------------------------

CREATE TYPE plan_type AS ENUM ('free', 'starter', 'pro', 'enterprise');
CREATE TYPE issue_status AS ENUM ('backlog', 'todo', 'in_progress', 'in_review', 'done', 'cancelled');
CREATE TYPE issue_priority AS ENUM ('none', 'low', 'medium', 'high', 'urgent');
CREATE TYPE project_status AS ENUM ('active', 'paused', 'archived');
CREATE TYPE team_role AS ENUM ('member', 'lead', 'admin');
CREATE TYPE cycle_status AS ENUM ('upcoming', 'active', 'completed');
CREATE TYPE link_type AS ENUM ('blocks', 'blocked_by', 'relates_to', 'duplicates', 'duplicate_of');
CREATE TYPE activity_action AS ENUM (
    'created', 'updated', 'deleted', 'commented', 'status_changed', 'assigned',
    'labeled', 'unlabeled', 'linked', 'unlinked', 'moved', 'archived'
);
CREATE TYPE notification_type AS ENUM (
    'issue_assigned', 'issue_mentioned', 'comment_added', 'issue_updated',
    'due_date_reminder', 'cycle_started', 'cycle_ending'
);

-- -----------------------------------------------------------------------------
-- Simulated clock and the updated_at trigger function
-- -----------------------------------------------------------------------------

CREATE FUNCTION app_now() RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('growth_sim.now', true), '')::timestamptz, now()) $$;

COMMENT ON FUNCTION app_now() IS
    'Simulated clock: the session setting growth_sim.now when set, else now().';

CREATE FUNCTION update_updated_at_column() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = app_now();
    RETURN NEW;
END;
$$;

-- -----------------------------------------------------------------------------
-- organizations
-- -----------------------------------------------------------------------------

CREATE TABLE organizations (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    name            varchar(100) NOT NULL,
    slug            varchar(50)  NOT NULL,
    plan_type       plan_type    NOT NULL DEFAULT 'free',
    settings        jsonb        NOT NULL DEFAULT '{}'::jsonb,
    trial_ends_at   timestamptz,
    subscription_id varchar(100),
    created_at      timestamptz  NOT NULL DEFAULT app_now(),
    updated_at      timestamptz  NOT NULL DEFAULT app_now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_slug_key UNIQUE (slug),
    CONSTRAINT organizations_slug_format CHECK (slug ~ '^[a-z0-9-]+$')
);
CREATE INDEX idx_organizations_slug ON organizations (slug);
CREATE INDEX idx_organizations_plan_type ON organizations (plan_type);
CREATE INDEX idx_organizations_created_at ON organizations (created_at);

-- -----------------------------------------------------------------------------
-- users
-- -----------------------------------------------------------------------------

CREATE TABLE users (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           varchar(255) NOT NULL,
    name            varchar(100) NOT NULL,
    username        varchar(50),
    avatar_url      text,
    password_hash   varchar(255),
    is_active       boolean      NOT NULL DEFAULT true,
    is_admin        boolean      NOT NULL DEFAULT false,
    timezone        varchar(50)           DEFAULT 'UTC',
    preferences     jsonb        NOT NULL DEFAULT '{}'::jsonb,
    last_login_at   timestamptz,
    created_at      timestamptz  NOT NULL DEFAULT app_now(),
    updated_at      timestamptz  NOT NULL DEFAULT app_now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_org_unique UNIQUE (organization_id, email),
    CONSTRAINT users_username_org_unique UNIQUE (organization_id, username)
);
CREATE INDEX idx_users_organization_id ON users (organization_id);
CREATE INDEX idx_users_email ON users (email);

-- -----------------------------------------------------------------------------
-- teams
-- -----------------------------------------------------------------------------

CREATE TABLE teams (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            varchar(100) NOT NULL,
    slug            varchar(50)  NOT NULL,
    description     text,
    icon            varchar(50),
    color           varchar(7),
    settings        jsonb        NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz  NOT NULL DEFAULT app_now(),
    updated_at      timestamptz  NOT NULL DEFAULT app_now(),
    CONSTRAINT teams_pkey PRIMARY KEY (id),
    CONSTRAINT teams_slug_org_unique UNIQUE (organization_id, slug)
);
CREATE INDEX idx_teams_organization_id ON teams (organization_id);

-- -----------------------------------------------------------------------------
-- team_members
-- -----------------------------------------------------------------------------

CREATE TABLE team_members (
    id        uuid        NOT NULL DEFAULT gen_random_uuid(),
    team_id   uuid        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      team_role   NOT NULL DEFAULT 'member',
    joined_at timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT team_members_pkey PRIMARY KEY (id),
    CONSTRAINT team_members_unique UNIQUE (team_id, user_id)
);
CREATE INDEX idx_team_members_team_id ON team_members (team_id);
CREATE INDEX idx_team_members_user_id ON team_members (user_id);

-- -----------------------------------------------------------------------------
-- projects
-- -----------------------------------------------------------------------------

CREATE TABLE projects (
    id              uuid           NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid           NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    team_id         uuid                    REFERENCES teams (id) ON DELETE SET NULL,
    lead_id         uuid                    REFERENCES users (id) ON DELETE SET NULL,
    name            varchar(100)   NOT NULL,
    key             varchar(10)    NOT NULL,
    description     text,
    icon            varchar(50),
    color           varchar(7),
    status          project_status NOT NULL DEFAULT 'active',
    settings        jsonb          NOT NULL DEFAULT '{}'::jsonb,
    issue_count     integer        NOT NULL DEFAULT 0,
    created_at      timestamptz    NOT NULL DEFAULT app_now(),
    updated_at      timestamptz    NOT NULL DEFAULT app_now(),
    archived_at     timestamptz,
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    CONSTRAINT projects_key_org_unique UNIQUE (organization_id, key),
    CONSTRAINT projects_key_format CHECK (key ~ '^[A-Z]{2,10}$')
);
CREATE INDEX idx_projects_organization_id ON projects (organization_id);
CREATE INDEX idx_projects_team_id ON projects (team_id);
CREATE INDEX idx_projects_status ON projects (organization_id, status);

-- -----------------------------------------------------------------------------
-- cycles
-- -----------------------------------------------------------------------------

CREATE TABLE cycles (
    id                    uuid          NOT NULL DEFAULT gen_random_uuid(),
    project_id            uuid          NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name                  varchar(100)  NOT NULL,
    number                integer       NOT NULL,
    description           text,
    start_date            date          NOT NULL,
    end_date              date          NOT NULL,
    status                cycle_status  NOT NULL DEFAULT 'upcoming',
    completed_issue_count integer       NOT NULL DEFAULT 0,
    total_issue_count     integer       NOT NULL DEFAULT 0,
    completed_estimate    numeric(10,2)          DEFAULT 0,
    total_estimate        numeric(10,2)          DEFAULT 0,
    created_at            timestamptz   NOT NULL DEFAULT app_now(),
    updated_at            timestamptz   NOT NULL DEFAULT app_now(),
    CONSTRAINT cycles_pkey PRIMARY KEY (id),
    CONSTRAINT cycles_number_project_unique UNIQUE (project_id, number),
    CONSTRAINT cycles_dates_valid CHECK (end_date > start_date)
);
CREATE INDEX idx_cycles_project_id ON cycles (project_id);
CREATE INDEX idx_cycles_status ON cycles (project_id, status);

-- -----------------------------------------------------------------------------
-- labels
-- -----------------------------------------------------------------------------

CREATE TABLE labels (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    project_id  uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        varchar(50) NOT NULL,
    description text,
    color       varchar(7)  NOT NULL,
    parent_id   uuid                 REFERENCES labels (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT labels_pkey PRIMARY KEY (id),
    CONSTRAINT labels_name_project_unique UNIQUE (project_id, name)
);
CREATE INDEX idx_labels_project_id ON labels (project_id);

-- -----------------------------------------------------------------------------
-- issues (core table; high update rate)
-- -----------------------------------------------------------------------------

CREATE TABLE issues (
    id               uuid           NOT NULL DEFAULT gen_random_uuid(),
    project_id       uuid           NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    cycle_id         uuid                    REFERENCES cycles (id) ON DELETE SET NULL,
    parent_id        uuid                    REFERENCES issues (id) ON DELETE SET NULL,
    creator_id       uuid           NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    assignee_id      uuid                    REFERENCES users (id) ON DELETE SET NULL,
    number           integer        NOT NULL,
    title            varchar(500)   NOT NULL,
    description      text,
    status           issue_status   NOT NULL DEFAULT 'backlog',
    priority         issue_priority NOT NULL DEFAULT 'none',
    estimate         numeric(5,2),
    due_date         date,
    started_at       timestamptz,
    completed_at     timestamptz,
    metadata         jsonb          NOT NULL DEFAULT '{}'::jsonb,
    comment_count    integer        NOT NULL DEFAULT 0,
    attachment_count integer        NOT NULL DEFAULT 0,
    sub_issue_count  integer        NOT NULL DEFAULT 0,
    sort_order       numeric(20,10) NOT NULL DEFAULT 0,
    created_at       timestamptz    NOT NULL DEFAULT app_now(),
    updated_at       timestamptz    NOT NULL DEFAULT app_now(),
    archived_at      timestamptz,
    CONSTRAINT issues_pkey PRIMARY KEY (id),
    CONSTRAINT issues_number_project_unique UNIQUE (project_id, number)
);
CREATE INDEX idx_issues_project_id ON issues (project_id);
CREATE INDEX idx_issues_status ON issues (project_id, status);
CREATE INDEX idx_issues_priority ON issues (project_id, priority);
CREATE INDEX idx_issues_assignee_id ON issues (assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX idx_issues_creator_id ON issues (creator_id);
CREATE INDEX idx_issues_cycle_id ON issues (cycle_id) WHERE cycle_id IS NOT NULL;
-- Planted: wrong column order for the created_at-only filters.
CREATE INDEX idx_issues_created_at ON issues (project_id, created_at DESC);
-- Planted: indexes the column the updated_at trigger changes on every UPDATE.
CREATE INDEX idx_issues_updated_at ON issues (updated_at DESC);
CREATE INDEX idx_issues_due_date ON issues (due_date) WHERE due_date IS NOT NULL;
CREATE INDEX idx_issues_sort_order ON issues (project_id, sort_order);
CREATE INDEX idx_issues_metadata ON issues USING gin (metadata);

-- -----------------------------------------------------------------------------
-- issue_labels (many-to-many)
-- -----------------------------------------------------------------------------

CREATE TABLE issue_labels (
    issue_id   uuid        NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    label_id   uuid        NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT issue_labels_pkey PRIMARY KEY (issue_id, label_id)
);
CREATE INDEX idx_issue_labels_issue_id ON issue_labels (issue_id);
CREATE INDEX idx_issue_labels_label_id ON issue_labels (label_id);

-- -----------------------------------------------------------------------------
-- issue_links
-- -----------------------------------------------------------------------------

CREATE TABLE issue_links (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    source_issue_id uuid        NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    target_issue_id uuid        NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    link_type       link_type   NOT NULL,
    created_by_id   uuid        NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at      timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT issue_links_pkey PRIMARY KEY (id),
    CONSTRAINT issue_links_unique UNIQUE (source_issue_id, target_issue_id, link_type),
    CONSTRAINT issue_links_no_self_link CHECK (source_issue_id <> target_issue_id)
);
CREATE INDEX idx_issue_links_source ON issue_links (source_issue_id);
CREATE INDEX idx_issue_links_target ON issue_links (target_issue_id);

-- -----------------------------------------------------------------------------
-- comments (fast growth)
-- -----------------------------------------------------------------------------

CREATE TABLE comments (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    issue_id    uuid        NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    parent_id   uuid                 REFERENCES comments (id) ON DELETE CASCADE,
    body        text        NOT NULL,
    body_html   text,
    is_internal boolean     NOT NULL DEFAULT false,
    is_edited   boolean     NOT NULL DEFAULT false,
    reactions   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT app_now(),
    updated_at  timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT comments_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_comments_issue_id ON comments (issue_id);
CREATE INDEX idx_comments_user_id ON comments (user_id);
CREATE INDEX idx_comments_created_at ON comments (issue_id, created_at DESC);

-- -----------------------------------------------------------------------------
-- attachments
-- -----------------------------------------------------------------------------

CREATE TABLE attachments (
    id                uuid         NOT NULL DEFAULT gen_random_uuid(),
    issue_id          uuid         NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_id           uuid         NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    comment_id        uuid                  REFERENCES comments (id) ON DELETE CASCADE,
    filename          varchar(255) NOT NULL,
    original_filename varchar(255) NOT NULL,
    content_type      varchar(100) NOT NULL,
    file_size         bigint       NOT NULL,
    storage_key       varchar(500) NOT NULL,
    storage_provider  varchar(20)  NOT NULL DEFAULT 'local',
    width             integer,
    height            integer,
    thumbnail_key     varchar(500),
    created_at        timestamptz  NOT NULL DEFAULT app_now(),
    -- Addition (not upstream): the generated preview image of the attachment,
    -- kept in the database. It carries the "attachment data" share of the
    -- weekly growth, which upstream kept as files on disk.
    preview           bytea,
    CONSTRAINT attachments_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_attachments_issue_id ON attachments (issue_id);

COMMENT ON COLUMN attachments.preview IS
    'Generated preview/thumbnail image of the attachment, stored in the database (NULL when none); '
    'growth-sim addition carrying the attachment-data share of the growth.';

-- -----------------------------------------------------------------------------
-- activity_log (very fast growth, insert-only; unpartitioned, no retention)
-- -----------------------------------------------------------------------------

CREATE TABLE activity_log (
    id              uuid            NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid            NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id      uuid                     REFERENCES projects (id) ON DELETE CASCADE,
    issue_id        uuid                     REFERENCES issues (id) ON DELETE CASCADE,
    user_id         uuid                     REFERENCES users (id) ON DELETE SET NULL,
    action          activity_action NOT NULL,
    entity_type     varchar(50)     NOT NULL,
    entity_id       uuid            NOT NULL,
    changes         jsonb,
    ip_address      inet,
    user_agent      text,
    created_at      timestamptz     NOT NULL DEFAULT app_now(),
    CONSTRAINT activity_log_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_activity_log_organization_id ON activity_log (organization_id);
CREATE INDEX idx_activity_log_project_id ON activity_log (project_id) WHERE project_id IS NOT NULL;
CREATE INDEX idx_activity_log_issue_id ON activity_log (issue_id) WHERE issue_id IS NOT NULL;
CREATE INDEX idx_activity_log_created_at ON activity_log (organization_id, created_at DESC);

-- -----------------------------------------------------------------------------
-- notifications (fast growth; high update rate)
-- -----------------------------------------------------------------------------

CREATE TABLE notifications (
    id            uuid              NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid              NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type          notification_type NOT NULL,
    title         varchar(255)      NOT NULL,
    body          text,
    issue_id      uuid                       REFERENCES issues (id) ON DELETE CASCADE,
    comment_id    uuid                       REFERENCES comments (id) ON DELETE CASCADE,
    actor_id      uuid                       REFERENCES users (id) ON DELETE SET NULL,
    url           text,
    read_at       timestamptz,
    archived_at   timestamptz,
    email_sent_at timestamptz,
    created_at    timestamptz       NOT NULL DEFAULT app_now(),
    CONSTRAINT notifications_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_notifications_user_id ON notifications (user_id);
-- Planted: read_at in the predicate makes every mark-as-read a non-HOT update.
CREATE INDEX idx_notifications_unread ON notifications (user_id, created_at DESC) WHERE read_at IS NULL;
CREATE INDEX idx_notifications_created_at ON notifications (user_id, created_at DESC);

-- -----------------------------------------------------------------------------
-- webhooks
-- -----------------------------------------------------------------------------

CREATE TABLE webhooks (
    id                uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id   uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name              varchar(100) NOT NULL,
    url               text         NOT NULL,
    secret            varchar(255) NOT NULL,
    events            text[]       NOT NULL DEFAULT '{}'::text[],
    is_active         boolean      NOT NULL DEFAULT true,
    last_triggered_at timestamptz,
    success_count     integer      NOT NULL DEFAULT 0,
    failure_count     integer      NOT NULL DEFAULT 0,
    created_at        timestamptz  NOT NULL DEFAULT app_now(),
    updated_at        timestamptz  NOT NULL DEFAULT app_now(),
    CONSTRAINT webhooks_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_webhooks_organization_id ON webhooks (organization_id);

-- -----------------------------------------------------------------------------
-- api_tokens
-- -----------------------------------------------------------------------------

CREATE TABLE api_tokens (
    id           uuid         NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         varchar(100) NOT NULL,
    token_hash   varchar(255) NOT NULL,
    token_prefix varchar(10)  NOT NULL,
    scopes       text[]       NOT NULL DEFAULT '{read}'::text[],   -- fixed upstream default
    last_used_at timestamptz,
    last_used_ip inet,
    expires_at   timestamptz,
    created_at   timestamptz  NOT NULL DEFAULT app_now(),
    revoked_at   timestamptz,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX idx_api_tokens_user_id ON api_tokens (user_id);
CREATE INDEX idx_api_tokens_token_hash ON api_tokens (token_hash);

-- -----------------------------------------------------------------------------
-- updated_at triggers (the 8 tables of the upstream migration)
-- -----------------------------------------------------------------------------

CREATE TRIGGER update_organizations_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_teams_updated_at BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_projects_updated_at BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_cycles_updated_at BEFORE UPDATE ON cycles
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_issues_updated_at BEFORE UPDATE ON issues
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_comments_updated_at BEFORE UPDATE ON comments
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_webhooks_updated_at BEFORE UPDATE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- =============================================================================
-- Tables the background jobs of the read mix need (later roadmap shapes)
-- =============================================================================

-- SLA policies (roadmap week 4). targets holds e.g.
-- {"first_response_hours": 4, "resolution_hours": 48}; conditions selects the
-- issues a policy applies to (e.g. {"priority": ["urgent", "high"]}).
CREATE TABLE sla_policies (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            varchar(100) NOT NULL,
    description     text,
    conditions      jsonb        NOT NULL DEFAULT '{}'::jsonb,
    targets         jsonb        NOT NULL DEFAULT '{}'::jsonb,
    is_active       boolean      NOT NULL DEFAULT true,
    created_at      timestamptz  NOT NULL DEFAULT app_now(),
    CONSTRAINT sla_policies_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_sla_policies_org ON sla_policies (organization_id);

-- Per-issue SLA tracking (roadmap week 4). policy_id is left unindexed.
CREATE TABLE sla_status (
    id                      uuid        NOT NULL DEFAULT gen_random_uuid(),
    issue_id                uuid        NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    policy_id               uuid        NOT NULL REFERENCES sla_policies (id),
    first_response_at       timestamptz,
    first_response_breached boolean     NOT NULL DEFAULT false,
    resolution_at           timestamptz,
    resolution_breached     boolean     NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT app_now(),
    updated_at              timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT sla_status_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_sla_status_issue ON sla_status (issue_id);

-- Outgoing webhook deliveries (roadmap days 49-50 shape, the one the retry job
-- queries). Identity BY DEFAULT: the writer supplies ids explicitly with COPY.
CREATE TABLE webhook_deliveries (
    id               bigint       GENERATED BY DEFAULT AS IDENTITY,
    webhook_id       uuid         NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type       varchar(100) NOT NULL,
    payload          jsonb        NOT NULL,
    response_status  integer,
    response_body    text,
    response_time_ms integer,
    attempt_number   integer      NOT NULL DEFAULT 1,
    next_retry_at    timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz  NOT NULL DEFAULT app_now(),
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX idx_webhook_deliveries_retry ON webhook_deliveries (next_retry_at)
    WHERE next_retry_at IS NOT NULL AND delivered_at IS NULL;

-- Recurring issue schedules (roadmap week 7). created_by_id is left unindexed.
CREATE TABLE recurring_issue_configs (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    project_id      uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    template        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    schedule_type   varchar(20) NOT NULL,
    cron_expression varchar(100),
    next_run_at     timestamptz,
    last_run_at     timestamptz,
    is_active       boolean     NOT NULL DEFAULT true,
    created_by_id   uuid                 REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT app_now(),
    updated_at      timestamptz NOT NULL DEFAULT app_now(),
    CONSTRAINT recurring_issue_configs_pkey PRIMARY KEY (id),
    CONSTRAINT recurring_issue_configs_schedule_type_check
        CHECK (schedule_type IN ('daily', 'weekly', 'monthly', 'cron'))
);
CREATE INDEX idx_recurring_configs_project ON recurring_issue_configs (project_id);
CREATE INDEX idx_recurring_configs_next_run ON recurring_issue_configs (next_run_at) WHERE is_active;

-- =============================================================================
-- View (from the schema document)
-- =============================================================================

-- Open, non-archived issues with their project key and assignee name.
CREATE VIEW v_active_issues AS
SELECT
    i.id,
    i.project_id,
    p.key AS project_key,
    i.number,
    p.key || '-' || i.number AS issue_key,
    i.title,
    i.status,
    i.priority,
    i.assignee_id,
    u.name AS assignee_name,
    i.due_date,
    i.estimate,
    i.comment_count,
    i.created_at,
    i.updated_at
FROM issues i
JOIN projects p ON p.id = i.project_id
LEFT JOIN users u ON u.id = i.assignee_id
WHERE i.archived_at IS NULL
  AND i.status NOT IN ('done', 'cancelled');

"""transfer_apply_set(): the common case of transfers.services.transfer_apply in one round trip
on PostgreSQL (SQLite keeps the Python path). See the function's comments and the service."""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION transfer_apply_set(
    p_account bigint,
    p_programme bigint,
    p_actor bigint,
    p_courses bigint[],
    p_outcomes bigint[],
    p_now timestamptz,
    p_today date,
    p_counting text[],
    p_reserving text[],
    p_pending text,
    p_submit text,
    p_transfer text,
    p_accredited text,
    p_catalogue text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
-- Apply for a credit transfer when every check of transfer_apply passes: returns the new
-- application's id, or NULL (nothing written) when any check refuses, for the service to run
-- its detailed checks and say why. Each statement below takes a fresh snapshot (READ
-- COMMITTED, VOLATILE), so the checks read what was committed before the locks were granted.
DECLARE
    v_count integer;
    v_rules bigint[];
    v_credits numeric[];
    v_codes text[];
    v_application bigint;
BEGIN
    -- The account row first, as account_lock takes it; then the outcomes in id order, as
    -- outcomes_lock does: the lock order of every booking.
    -- Only an active account: a closure that held the lock first leaves the row 'closed'
    -- (the row is checked again once the lock is granted), and the Python path says so.
    PERFORM 1 FROM accounts_learningaccount
        WHERE id = p_account AND status = 'active' FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM outcomes_learningoutcome WHERE id = ANY(p_outcomes) ORDER BY id FOR UPDATE;

    -- One row per item that passes every check; any item missing and the whole is refused.
    SELECT count(*),
           array_agg(plan.rule_id ORDER BY plan.ord),
           array_agg(plan.credits ORDER BY plan.ord),
           array_agg(plan.code ORDER BY plan.ord)
      INTO v_count, v_rules, v_credits, v_codes
      FROM (
        SELECT item.ord, course.code, rule.id AS rule_id, rule.credits
          FROM unnest(p_courses, p_outcomes) WITH ORDINALITY AS item(course_id, outcome_id, ord)
          -- a course of this programme
          JOIN transfers_course course
            ON course.id = item.course_id AND course.programme_id = p_programme
          -- the learner's own outcome, accredited
          JOIN outcomes_learningoutcome outcome
            ON outcome.id = item.outcome_id AND outcome.account_id = p_account
           AND outcome.status = p_accredited
          -- the catalogue entry of its latest accreditation decision against the catalogue,
          -- not revoked (accreditation.services.catalogue_versions_accredited)
          CROSS JOIN LATERAL (
            SELECT version.entry_id
              FROM accreditation_decision decision
              JOIN accreditation_application application
                ON application.id = decision.application_id
              JOIN accreditation_catalogueentryversion version
                ON version.id = decision.catalogue_version_id
             WHERE application.outcome_id = outcome.id
               AND decision.result = p_accredited
               AND decision.basis = p_catalogue
               AND NOT EXISTS (
                 SELECT 1 FROM accreditation_revocation revocation
                  WHERE revocation.decision_id = decision.id)
             ORDER BY decision.decided_at DESC, decision.id DESC
             LIMIT 1
          ) accredited
          -- the conversion rule in effect today from that entry to the course (of several,
          -- the one transfers.services.current_rules_for keeps: the lowest version)
          CROSS JOIN LATERAL (
            SELECT r.id, r.credits
              FROM transfers_conversionrule r
             WHERE r.entry_id = accredited.entry_id
               AND r.course_id = item.course_id
               AND r.effective_from <= p_today
               AND (r.effective_to IS NULL OR r.effective_to >= p_today)
             ORDER BY r.version
             LIMIT 1
          ) rule
         -- the course not already transferred or asked for by this learner
         WHERE NOT EXISTS (
                 SELECT 1 FROM transfers_transferitem t
                  WHERE t.account_id = p_account AND t.course_id = item.course_id
                    AND t.state = ANY(p_counting))
           -- the outcome not reserved by an undecided transfer
           AND NOT EXISTS (
                 SELECT 1 FROM transfers_transferitem t
                  WHERE t.outcome_id = item.outcome_id AND t.state = ANY(p_reserving))
           -- nor counted for this programme already
           AND NOT EXISTS (
                 SELECT 1 FROM transfers_transferitem t
                  WHERE t.outcome_id = item.outcome_id AND t.programme_id = p_programme
                    AND t.state = ANY(p_counting))
      ) plan;
    IF v_count <> cardinality(p_courses) THEN
        RETURN NULL;
    END IF;

    INSERT INTO transfers_transferapplication (account_id, programme_id, state, submitted_at)
    VALUES (p_account, p_programme, p_pending, p_now)
    RETURNING id INTO v_application;

    WITH created AS (
        INSERT INTO transfers_transferitem (
            application_id, course_id, programme_id, account_id, outcome_id, rule_id, credits,
            state, reason)
        SELECT v_application, item.course_id, p_programme, p_account, item.outcome_id,
               item.rule_id, item.credits, p_pending, ''
          FROM unnest(p_courses, p_outcomes, v_rules, v_credits)
               WITH ORDINALITY AS item(course_id, outcome_id, rule_id, credits, ord)
         ORDER BY item.ord
        RETURNING id
    )
    INSERT INTO transfers_transferevent (
        actor_id, reason, occurred_at, item_id, action, from_state, to_state)
    SELECT p_actor, '', p_now, created.id, p_submit, p_pending, p_pending
      FROM created
     ORDER BY created.id;

    INSERT INTO accounts_businesstransaction (account_id, kind, occurred_at, actor_id, details)
    SELECT p_account, p_transfer, p_now, p_actor,
           jsonb_build_object(
               'event', 'applied',
               'transfer', v_application,
               'programme', programme.code,
               'institution', institution.name,
               'courses', to_jsonb(v_codes))
      FROM transfers_programme programme
      JOIN accounts_institution institution ON institution.id = programme.institution_id
     WHERE programme.id = p_programme;

    RETURN v_application;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS transfer_apply_set(
    bigint, bigint, bigint, bigint[], bigint[], timestamptz, date, text[], text[], text, text,
    text, text, text);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0006_transfer_basis_revoked"),
        ("accounts", "0022_notice_kinds_of_the_wave"),
        ("accreditation", "0004_route_correction_requests_to_centres"),
        ("outcomes", "0002_institution_batches"),
    ]

    operations = [migrations.RunPython(create, drop)]

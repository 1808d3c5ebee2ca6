//! Diesel's view of the tables created by `migrations/`. The migrations are the truth; a
//! column added there is added here by hand, and the integration tests catch a mismatch.

diesel::table! {
    members (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        timezone -> Nullable<Text>,
        organizer -> Bool,
        email_verified_at -> Nullable<Timestamptz>,
        unsubscribed_at -> Nullable<Timestamptz>,
        reminders_enabled -> Bool,
        reflection_prompts_enabled -> Bool,
        token_version -> Int4,
        created_at -> Timestamptz,
        me_token_version -> Int4,
        calendar_token_version -> Int4,
        feedback_requests_enabled -> Bool,
        consent_reminders_enabled -> Bool,
        last_letter_at -> Nullable<Timestamptz>,
        last_letter_key -> Nullable<Text>,
    }
}

diesel::table! {
    circles (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Text,
        kind -> Text,
        visibility -> Text,
        capacity -> Nullable<Int4>,
        timezone -> Text,
        location -> Nullable<Text>,
        status -> Text,
        facilitation -> Text,
        reminder_offset_minutes -> Int4,
        reflection_delay_minutes -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        invite_lead_days -> Int4,
        planning_horizon -> Int4,
        role_ask_days -> Int4,
        role_answer_hours -> Int4,
        feedback_min_answers -> Int4,
        consent_quorum_percent -> Int4,
        consent_round_days -> Int4,
        family_id -> Nullable<Uuid>,
        parent_id -> Nullable<Uuid>,
        grow_threshold -> Nullable<Int4>,
        feedback_roles -> Array<Text>,
        active_members -> Int4,
        waitlisted_members -> Int4,
        needs_attention -> Bool,
    }
}

diesel::table! {
    memberships (circle_id, member_id) {
        circle_id -> Uuid,
        member_id -> Uuid,
        role -> Text,
        state -> Text,
        waitlist_position -> Nullable<Int4>,
        joined_at -> Timestamptz,
        updated_at -> Timestamptz,
        roster_rank -> Nullable<Int2>,
        waitlist_told_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    readings (id) {
        id -> Uuid,
        circle_id -> Uuid,
        title -> Text,
        author -> Nullable<Text>,
        url -> Nullable<Text>,
        isbn -> Nullable<Text>,
        notes -> Nullable<Text>,
        position -> Int4,
        created_at -> Timestamptz,
        chapters -> Jsonb,
    }
}

diesel::table! {
    reading_segments (session_id, reading_id) {
        session_id -> Uuid,
        reading_id -> Uuid,
        circle_id -> Uuid,
        position -> Int4,
        first_page -> Int4,
        last_page -> Int4,
        label -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    schedules (id) {
        id -> Uuid,
        circle_id -> Uuid,
        freq -> Text,
        interval_weeks -> Int4,
        week_of_month -> Nullable<Int4>,
        weekday -> Nullable<Int4>,
        first_date -> Date,
        local_time -> Time,
        duration_minutes -> Int4,
        count -> Nullable<Int4>,
        until -> Nullable<Date>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        circle_id -> Uuid,
        schedule_id -> Nullable<Uuid>,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        local_date -> Date,
        local_time -> Time,
        timezone -> Text,
        duration_minutes -> Int4,
        location -> Nullable<Text>,
        reading_id -> Nullable<Uuid>,
        facilitator_id -> Nullable<Uuid>,
        status -> Text,
        ics_sequence -> Int4,
        prompts -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rsvps (session_id, member_id) {
        session_id -> Uuid,
        member_id -> Uuid,
        response -> Nullable<Text>,
        responded_at -> Nullable<Timestamptz>,
        attended -> Nullable<Bool>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reflections (id) {
        id -> Uuid,
        session_id -> Uuid,
        member_id -> Uuid,
        body -> Text,
        visibility -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        dedupe_key -> Nullable<Text>,
        run_at -> Timestamptz,
        state -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Uuid,
        job_id -> Nullable<Uuid>,
        member_id -> Nullable<Uuid>,
        circle_id -> Nullable<Uuid>,
        recipient -> Nullable<Text>,
        kind -> Text,
        message_id -> Text,
        sent_at -> Timestamptz,
        dedupe_key -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        member_id -> Uuid,
        name -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    facilitator_logins (id) {
        id -> Uuid,
        member_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    staff_sessions (id) {
        id -> Uuid,
        member_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    role_kinds (circle_id, key) {
        circle_id -> Uuid,
        key -> Text,
        name -> Text,
        guide -> Text,
        slots -> Int4,
        rotates -> Bool,
        min_attended -> Int4,
        position -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    session_roles (id) {
        id -> Uuid,
        session_id -> Uuid,
        circle_id -> Uuid,
        role_key -> Text,
        slot -> Int4,
        member_id -> Nullable<Uuid>,
        state -> Text,
        source -> Text,
        why -> Text,
        seed -> Nullable<Int8>,
        asked_at -> Nullable<Timestamptz>,
        answered_at -> Nullable<Timestamptz>,
        reported_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        feedback -> Text,
        questions -> Nullable<Text>,
        questions_by -> Nullable<Uuid>,
        questions_asked_of -> Nullable<Uuid>,
        questions_in_ask_of -> Nullable<Uuid>,
    }
}

diesel::table! {
    role_events (id) {
        id -> Int8,
        session_id -> Uuid,
        circle_id -> Uuid,
        role_key -> Text,
        slot -> Int4,
        member_id -> Nullable<Uuid>,
        kind -> Text,
        actor_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    rotation_prefs (circle_id, member_id) {
        circle_id -> Uuid,
        member_id -> Uuid,
        opted_in -> Bool,
        weight -> Int4,
        paused_until -> Nullable<Date>,
        opted_out_roles -> Array<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    swap_requests (id) {
        id -> Uuid,
        session_role_id -> Uuid,
        requester_id -> Nullable<Uuid>,
        status -> Text,
        taken_by -> Nullable<Uuid>,
        session_sequence -> Int4,
        created_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    swap_offers (swap_id, member_id) {
        swap_id -> Uuid,
        member_id -> Uuid,
        rank -> Int4,
        offered_at -> Timestamptz,
    }
}

diesel::table! {
    handoffs (id) {
        id -> Uuid,
        circle_id -> Uuid,
        from_session_id -> Uuid,
        author_id -> Nullable<Uuid>,
        stopped_at -> Text,
        open_questions -> Text,
        follow_up -> Text,
        try_next -> Text,
        visibility -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    feedback_requests (id) {
        id -> Uuid,
        session_id -> Uuid,
        circle_id -> Uuid,
        subject_id -> Uuid,
        role_key -> Text,
        mode -> Text,
        min_answers -> Int4,
        opened_at -> Timestamptz,
        closes_at -> Timestamptz,
        results_sent_at -> Nullable<Timestamptz>,
        frozen_at -> Nullable<Timestamptz>,
        eligibility_changed_at -> Nullable<Timestamptz>,
        sealed_at -> Nullable<Timestamptz>,
        closed_quietly -> Bool,
        noted_in -> Nullable<Text>,
    }
}

diesel::table! {
    feedback_eligible (request_id, member_id) {
        request_id -> Uuid,
        member_id -> Uuid,
    }
}

diesel::table! {
    feedback_held (id) {
        id -> Uuid,
        request_id -> Uuid,
        tag -> Bytea,
        author_id -> Nullable<Uuid>,
        helped -> Text,
        try_next -> Text,
        rating -> Nullable<Int2>,
    }
}

diesel::table! {
    feedback_receipts (request_id, member_id) {
        request_id -> Uuid,
        member_id -> Uuid,
    }
}

diesel::table! {
    feedback_answers (id) {
        id -> Uuid,
        request_id -> Uuid,
        author_id -> Nullable<Uuid>,
        helped -> Text,
        try_next -> Text,
        rating -> Nullable<Int2>,
        reported_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    agreements (id) {
        id -> Uuid,
        circle_id -> Uuid,
        title -> Text,
        status -> Text,
        current_version -> Int4,
        adopted_version -> Nullable<Int4>,
        adopted_at -> Nullable<Timestamptz>,
        review_every_sessions -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agreement_versions (agreement_id, version) {
        agreement_id -> Uuid,
        version -> Int4,
        body -> Text,
        note -> Text,
        proposed_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    consent_rounds (id) {
        id -> Uuid,
        agreement_id -> Uuid,
        circle_id -> Uuid,
        version -> Int4,
        kind -> Text,
        opened_at -> Timestamptz,
        closes_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        eligible -> Int4,
        quorum -> Int4,
        outcome -> Nullable<Text>,
        outcome_held_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    consent_outcomes_carried (round_id, member_id) {
        round_id -> Uuid,
        member_id -> Uuid,
        outcome_of -> Uuid,
    }
}

diesel::table! {
    consent_stances (id) {
        id -> Int8,
        round_id -> Uuid,
        member_id -> Uuid,
        stance -> Text,
        reason -> Text,
        latest -> Bool,
        at -> Timestamptz,
    }
}

diesel::table! {
    agreement_acks (agreement_id, member_id, version) {
        agreement_id -> Uuid,
        member_id -> Uuid,
        version -> Int4,
        at -> Timestamptz,
    }
}

diesel::table! {
    circle_agendas (circle_id) {
        circle_id -> Uuid,
        enabled -> Bool,
        rounds -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    session_agendas (session_id) {
        session_id -> Uuid,
        circle_id -> Uuid,
        rounds -> Jsonb,
        first_speaker -> Nullable<Uuid>,
        seed -> Int8,
        frozen_at -> Timestamptz,
    }
}

diesel::table! {
    sibling_proposals (id) {
        id -> Uuid,
        circle_id -> Uuid,
        name -> Text,
        state -> Text,
        started_by -> Text,
        lead_order -> Array<Uuid>,
        passed -> Array<Uuid>,
        asked_member_id -> Nullable<Uuid>,
        asked_at -> Nullable<Timestamptz>,
        answer_by -> Nullable<Timestamptz>,
        sibling_id -> Nullable<Uuid>,
        moved -> Int4,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sibling_moves (proposal_id, member_id) {
        proposal_id -> Uuid,
        member_id -> Uuid,
        from_position -> Int4,
    }
}

diesel::table! {
    /// Per person, circle and day (UTC): confirmed roles held and sessions led, kept by the
    /// database (migration `leadership_totals`); read by `db::leadership`.
    leadership_days (circle_id, member_id, day) {
        circle_id -> Uuid,
        member_id -> Uuid,
        day -> Date,
        roles -> Int4,
        led -> Int4,
    }
}

diesel::joinable!(sibling_moves -> sibling_proposals (proposal_id));
diesel::joinable!(memberships -> circles (circle_id));
diesel::joinable!(memberships -> members (member_id));
diesel::joinable!(readings -> circles (circle_id));
diesel::joinable!(schedules -> circles (circle_id));
diesel::joinable!(sessions -> circles (circle_id));
diesel::joinable!(rsvps -> sessions (session_id));
diesel::joinable!(rsvps -> members (member_id));
diesel::joinable!(reflections -> sessions (session_id));
diesel::joinable!(reflections -> members (member_id));
diesel::joinable!(api_tokens -> members (member_id));
diesel::joinable!(facilitator_logins -> members (member_id));
diesel::joinable!(staff_sessions -> members (member_id));
diesel::joinable!(session_roles -> sessions (session_id));
diesel::joinable!(session_roles -> members (member_id));
diesel::joinable!(role_kinds -> circles (circle_id));
diesel::joinable!(rotation_prefs -> members (member_id));
diesel::joinable!(swap_offers -> swap_requests (swap_id));
diesel::joinable!(swap_requests -> session_roles (session_role_id));
diesel::joinable!(handoffs -> circles (circle_id));
diesel::joinable!(feedback_answers -> feedback_requests (request_id));
diesel::joinable!(feedback_receipts -> feedback_requests (request_id));
diesel::joinable!(feedback_requests -> sessions (session_id));
diesel::joinable!(feedback_eligible -> feedback_requests (request_id));
diesel::joinable!(feedback_held -> feedback_requests (request_id));
diesel::joinable!(consent_rounds -> agreements (agreement_id));
diesel::joinable!(consent_stances -> consent_rounds (round_id));
diesel::joinable!(consent_stances -> members (member_id));
diesel::joinable!(agreements -> circles (circle_id));
diesel::joinable!(agreement_versions -> agreements (agreement_id));
diesel::joinable!(session_agendas -> sessions (session_id));
diesel::joinable!(reading_segments -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    members,
    circles,
    memberships,
    readings,
    schedules,
    sessions,
    rsvps,
    reflections,
    jobs,
    deliveries,
    api_tokens,
    facilitator_logins,
    staff_sessions,
    role_kinds,
    session_roles,
    role_events,
    rotation_prefs,
    swap_requests,
    swap_offers,
    handoffs,
    feedback_requests,
    feedback_receipts,
    feedback_answers,
    feedback_eligible,
    feedback_held,
    agreements,
    agreement_versions,
    consent_rounds,
    consent_stances,
    consent_outcomes_carried,
    agreement_acks,
    circle_agendas,
    session_agendas,
    reading_segments,
    sibling_proposals,
    sibling_moves,
    leadership_days,
);

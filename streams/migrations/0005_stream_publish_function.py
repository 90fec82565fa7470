"""streams_publish(): the common case of on_publish in one database round trip (streams.publish_app).

It opens the room's stream exactly as services.stream_publish does when nothing stands in the way, and
answers 'decide' without writing anything whenever something might: an address that may be blocked for
wrong keys (streams.models.PublishBlock), an unknown or revoked key, a stream
already open in the room under another client id, the live quota reached, approval required and
missing, no site settings row yet. The Python service then decides (and words the refusal).
tests/streams/test_publish_app.py compares the rows both paths write.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION streams_publish(
    p_digest text, p_client_id text, p_addr text, p_site_settings_id bigint
) RETURNS TABLE (outcome text, stream_id bigint, room_id bigint, owner_id bigint, public_name text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_room bigint;
    v_owner bigint;
    v_public text;
    v_staff boolean;
    v_quota integer;
    v_live integer;
    v_here bigint;
    v_here_client text;
    v_need_approval boolean;
    v_stream bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM streams_publishblock b WHERE b.addr = p_addr AND b.until > now()) THEN
        RETURN QUERY SELECT 'decide'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- The owner's row lock serialises their publishes (the live quota), as in stream_key_by_secret.
    SELECT k.room_id, r.owner_id, r.public_name, u.is_staff, u.live_quota
      INTO v_room, v_owner, v_public, v_staff, v_quota
      FROM rooms_streamkey k
      JOIN rooms_room r ON r.id = k.room_id
      JOIN accounts_user u ON u.id = r.owner_id
     WHERE k.secret_digest = p_digest AND k.revoked_at IS NULL
       FOR NO KEY UPDATE OF u;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'decide'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;

    SELECT count(*), max(s.id) FILTER (WHERE s.room_id = v_room),
           max(s.client_id) FILTER (WHERE s.room_id = v_room)
      INTO v_live, v_here, v_here_client
      FROM streams_stream s JOIN rooms_room r ON r.id = s.room_id
     WHERE r.owner_id = v_owner AND s.status = 'live';
    IF v_here IS NOT NULL AND v_here_client = p_client_id THEN
        -- The same ingest client publishing again: its open stream, nothing written.
        RETURN QUERY SELECT 'open'::text, v_here, v_room, v_owner, v_public;
        RETURN;
    END IF;

    SELECT s.streamers_need_approval INTO v_need_approval
      FROM accounts_sitesettings s WHERE s.id = p_site_settings_id;
    IF v_here IS NOT NULL OR v_live >= v_quota OR v_need_approval IS NULL
       OR (v_need_approval AND NOT v_staff AND NOT EXISTS (
             SELECT 1 FROM accounts_streamerapplication a
              WHERE a.user_id = v_owner AND a.status = 'approved')) THEN
        RETURN QUERY SELECT 'decide'::text, NULL::bigint, v_room, v_owner, v_public;
        RETURN;
    END IF;

    INSERT INTO streams_stream (
        created_at, updated_at, room_id, status, started_at, ended_at, end_reason, client_id,
        last_heartbeat_at, bitrate_kbps, fps, resolution, video_codec, audio_codec, recording_path
    ) VALUES (
        now(), now(), v_room, 'live', now(), NULL, '', p_client_id, now(), NULL, NULL, '', '', '', ''
    ) RETURNING id INTO v_stream;
    INSERT INTO streams_roomrecord (
        room_id, stream_id, started_at, ended_at, unique_viewers, peak_viewers, total_comments,
        avg_watch_seconds
    ) VALUES (v_room, v_stream, now(), NULL, 0, 0, 0, 0);
    UPDATE rooms_room SET status = 'live' WHERE id = v_room;
    INSERT INTO accounts_activitylog (created_at, user_id, action, ip_address, detail)
    VALUES (now(), v_owner, 'go_live', NULL,
            jsonb_build_object('room_id', v_room, 'stream_id', v_stream, 'addr', p_addr));
    RETURN QUERY SELECT 'started'::text, v_stream, v_room, v_owner, v_public;
END
$$;
"""

DROP = "DROP FUNCTION IF EXISTS streams_publish(text, text, text, bigint);"


def _on_postgresql(sql: str):
    """Other databases (a SQLite development setup) have no PL/pgSQL: the publish hook then always
    takes the Python path (streams.publish_app.fast_path_possible)."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0004_publishblock"),
        ("accounts", "0002_user_language"),
        ("rooms", "0002_room_blocked_words"),
    ]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]

-- Stored attributes name other entities by their vendor keys, or through owner_id, never by
-- row id, so that a space can be exported and loaded into another database. This rewrites the
-- two Feishu shapes that held row ids: a chat's owner and bot managers, and an aPaaS workflow
-- instance's initiator. (The only bot manager a chat ever had was the app that made it, its
-- owner_id before this migration.)
UPDATE entities e SET attrs = jsonb_set(e.attrs::jsonb, '{bot_managers}', jsonb_build_array(a.key))::text
    FROM entities a
    WHERE a.id = e.owner_id AND e.kind = 'feishu.chat'
      AND jsonb_array_length(e.attrs::jsonb -> 'bot_managers') > 0;
UPDATE entities SET owner_id = (attrs::jsonb ->> 'owner')::bigint
    WHERE kind = 'feishu.chat' AND jsonb_typeof(attrs::jsonb -> 'owner') = 'number';
UPDATE entities SET attrs = (attrs::jsonb - 'owner')::text WHERE kind = 'feishu.chat';
UPDATE entities e SET attrs = jsonb_set(e.attrs::jsonb, '{initiator}', to_jsonb(al.alias))::text
    FROM aliases al
    WHERE e.kind = 'feishu.apaas.workflow_instance'
      AND jsonb_typeof(e.attrs::jsonb -> 'initiator') = 'number'
      AND al.space_id = e.space_id AND al.namespace = 'kunlun_id'
      AND al.entity_id = (e.attrs::jsonb ->> 'initiator')::bigint;

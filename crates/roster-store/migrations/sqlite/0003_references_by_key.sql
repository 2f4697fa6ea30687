-- Stored attributes name other entities by their vendor keys, or through owner_id, never by
-- row id, so that a space can be exported and loaded into another database. This rewrites the
-- two Feishu shapes that held row ids: a chat's owner and bot managers, and an aPaaS workflow
-- instance's initiator. (The only bot manager a chat ever had was the app that made it, its
-- owner_id before this migration.)
UPDATE entities SET attrs = json_set(attrs, '$.bot_managers',
        json_array((SELECT a.key FROM entities a WHERE a.id = entities.owner_id)))
    WHERE kind = 'feishu.chat' AND json_array_length(attrs, '$.bot_managers') > 0;
UPDATE entities SET owner_id = json_extract(attrs, '$.owner')
    WHERE kind = 'feishu.chat' AND json_type(attrs, '$.owner') = 'integer';
UPDATE entities SET attrs = json_remove(attrs, '$.owner') WHERE kind = 'feishu.chat';
UPDATE entities SET attrs = json_set(attrs, '$.initiator',
        (SELECT al.alias FROM aliases al
            WHERE al.space_id = entities.space_id AND al.namespace = 'kunlun_id'
              AND al.entity_id = json_extract(entities.attrs, '$.initiator')))
    WHERE kind = 'feishu.apaas.workflow_instance'
      AND json_type(attrs, '$.initiator') = 'integer';

-- Where each provider's webhooks hold their fields: the provider's paths
-- (providers.webhook_fields; key_id NULL) and each key's override
-- (provider_keys.webhook_fields), the provider's row first.
SELECT p.id AS provider, NULL::bigint AS key_id, p.webhook_fields::text AS fields
  FROM providers p
UNION ALL
SELECT k.provider, k.id, k.webhook_fields::text
  FROM provider_keys k
 WHERE k.webhook_fields IS NOT NULL
 ORDER BY 1, 2 NULLS FIRST;

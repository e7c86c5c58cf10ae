-- Enabled keys with their effective base URL and time scale, and their own
-- request_fields (NULL: the provider's).
SELECT k.id, k.provider, k.label, k.plan, k.provider_user_id, k.provider_account_id,
       k.secret_ref, coalesce(k.base_url, p.base_url), coalesce(k.time_scale, p.time_scale),
       k.request_fields::text
  FROM provider_keys k
  JOIN providers p ON p.id = k.provider
 WHERE k.enabled
 ORDER BY k.id;

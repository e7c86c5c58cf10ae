-- Where each enabled key's webhook signing secrets live.
SELECT provider, webhook_secret_ref, id
  FROM provider_keys
 WHERE enabled AND webhook_secret_ref IS NOT NULL
 ORDER BY provider, id;

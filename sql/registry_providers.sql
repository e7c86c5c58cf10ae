SELECT id, base_url, reset_kind, batch_accounts, max_content_len, max_media, max_media_bytes,
       array_to_string(media_types, ' '), time_scale,
       request_fields::text, lookup::text
  FROM providers;

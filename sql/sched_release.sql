DELETE FROM key_leases WHERE owner = $1;

INSERT INTO raw_events (id, stream, version, name, payload) VALUES (gen_random_uuid(), 'bank-account-' || gen_random_uuid(), 1, 'MoneyDeposited', '\x7b22616d6f756e74223a31307d');

-- Whether each copy's manifest is signed by a configured signer: "signed <key id>",
-- "unsigned" (made before signing) or "untrusted <why>". Empty until the next refresh.
ALTER TABLE backups ADD COLUMN trust TEXT NOT NULL DEFAULT '';

-- Whether each copy's manifest is signed by a configured signer (see ../sqlite/0004_backup_trust.sql).
ALTER TABLE backups ADD COLUMN trust TEXT COLLATE "C" NOT NULL DEFAULT '';

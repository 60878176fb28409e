-- xfed's PostgreSQL schema (storage { backend = 'pgsql' }).
-- Created by `xfedctl db init`; every statement may run again safely.
--
-- Text columns holding JIDs use the "C" collation so that rows sort by
-- their bytes, the order the LMDB backend keeps (and scans rely on).
-- Per-user tables share one shape: owner (a bare JID), skey (what
-- follows the owner in the store's key: a contact JID, a sequence
-- number, a namespace, ...; empty when the owner is the whole key) and
-- val (the record, usually serialised XML).

CREATE TABLE IF NOT EXISTS xf_users (
	jid			text COLLATE "C" PRIMARY KEY,
	iterations		integer NOT NULL,
	salt			bytea NOT NULL,
	stored_key_sha1		bytea NOT NULL,
	server_key_sha1		bytea NOT NULL,
	stored_key_sha256	bytea NOT NULL,
	server_key_sha256	bytea NOT NULL,
	created			bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS xf_roster (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

CREATE TABLE IF NOT EXISTS xf_offline (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,		-- sequence number, 8 bytes big-endian
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

CREATE TABLE IF NOT EXISTS xf_vcard (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

CREATE TABLE IF NOT EXISTS xf_private (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

CREATE TABLE IF NOT EXISTS xf_pep (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

CREATE TABLE IF NOT EXISTS xf_block (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

CREATE TABLE IF NOT EXISTS xf_meta (
	owner	text COLLATE "C" NOT NULL,
	skey	bytea NOT NULL,
	val	bytea NOT NULL,
	PRIMARY KEY (owner, skey)
);

-- Offline messages keep their order across every node of the cluster.
CREATE SEQUENCE IF NOT EXISTS xf_offline_seq;

-- The schema's version, for later migrations.
CREATE TABLE IF NOT EXISTS xf_schema (
	version	integer NOT NULL
);
INSERT INTO xf_schema (version)
	SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM xf_schema);

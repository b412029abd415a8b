// Package config defines mlsbackup's configuration file: its schema, its
// defaults, how it is read and how it is checked.
//
// A configuration is a YAML document. Every key is optional: [Default]
// returns a configuration that works with no file at all (data directory
// ./mlsbackup-data, backups to the local directory <data_dir>/bucket).
// [Parse] and [Load] overlay a document onto those defaults.
//
// Reading is strict. A key the schema does not know is an error naming the
// key's full path and line ("line 4: unknown key log.lvl"), so a typo never
// silently falls back to a default. Scalar values may reference environment
// variables as $VAR or ${VAR}; ${VAR:-fallback} supplies a fallback for an
// unset variable and $$ is a literal dollar sign. An unset variable without
// a fallback is an error. Expansion happens after YAML parsing, on values
// only, so a variable's content can never change the document's structure.
//
// [Config.Validate] checks a configuration without touching the file system
// or the network and returns every problem at once, each naming the field
// ("destination.s3.bucket: required when type is s3"). Parsing and
// validation are separate so that a caller can apply command-line overrides
// (such as --data-dir) between them.
//
// Secrets (destination.s3.secret_access_key, destination.s3.session_token)
// never appear in error messages; print a configuration only through
// [Config.Redacted].
package config

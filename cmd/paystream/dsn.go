package main

import (
	"net/url"
	"strings"
)

// redactDSN hides a DSN's password for logs and errors.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparseable dsn>"
	}
	return u.Redacted()
}

// dsnDatabase is the database named in a clickhouse:// DSN ("default" if none).
func dsnDatabase(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "default"
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		return db
	}
	return "default"
}

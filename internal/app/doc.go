// Package app is openfc's composition root: New builds every component of
// a node from a config.Config (copying each config section into that
// package's Options), Start brings them up in dependency order (broker,
// metadata store, credentials, API listener) and Shutdown stops them in
// reverse. Nothing else wires components together; only cli and testenv
// import app.
package app

// Package testenv provides the real things to tests: a logger into the
// test's output, an embedded JetStream in a temp dir, a whole openfc node in
// process on a free port with a signed client, polling, and root checks.
// It is imported only from _test.go files.
package testenv

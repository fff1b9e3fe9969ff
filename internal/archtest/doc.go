// Package archtest holds tests that enforce openfc's architecture: the
// import rules of STYLE.md §1 (a package imports only packages listed above
// it, with the extra rules named in the table) and a package doc on every
// package. It has no code of its own.
package archtest

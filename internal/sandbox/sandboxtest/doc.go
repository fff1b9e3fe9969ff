// Package sandboxtest is the conformance suite every sandbox.Driver passes.
//
// Run starts real instances of a small static test program (built once per
// test binary by BuildHelper from ./testprog) through the driver under test
// and checks the contract: output, exit codes and signals, Stop of a
// graceful and of a hung runtime, idempotent Stop, no child outliving its
// instance, the Unix socket and TCP addresses, and, for drivers that enforce
// limits, the OOM report past the memory limit.
//
// Lines collects an instance's output line by line, so that tests wait for
// what the program printed instead of sleeping.
//
// It is imported only from _test.go files. It imports sandbox only.
package sandboxtest
